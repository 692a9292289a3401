import assert from 'node:assert/strict';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import type { TxKey } from '../../src/store/types.js';
import type { RecordOutcome, ReserveAttemptOutcome } from '../../src/transaction/index.js';
import { A, S, T0, policyWith } from './transaction.fixtures.js';

const policy = policyWith({ resend_cooldown_seconds: 0 });
const key: TxKey = { sessionId: 's1', authenticatorId: 'otp', subject: 'alice' };

/** A deterministic spread of event-loop yields, so reserves and records interleave the same way every run. */
function yields(seed: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < seed % 7; i += 1) p = p.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  return p;
}

async function storeWithCode(): Promise<{ store: MemoryTransactionStore; codeId: string }> {
  const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
  await store.open(key, {}, policy, T0);
  const r = await store.reserveSend(key, policy, T0, 'first');
  if (r.tx === null || !r.outcome.ok) throw new Error('no reservation');
  await store.commitSend(key, policy, r.outcome.reservation_id, {
    id: 'c1', hash: 'h1', destination: A, sent_at: T0, expires_at: T0 + 600 * S,
  });
  return { store, codeId: 'c1' };
}

type Entry = { reserved: ReserveAttemptOutcome | 'missing'; recorded: RecordOutcome | null };

async function entry(store: MemoryTransactionStore, i: number, matchedCodeId?: string): Promise<Entry> {
  await yields(i * 31);
  const r = await store.reserveAttempt(key, policy, T0 + S);
  if (r.tx === null) return { reserved: 'missing', recorded: null };
  if (!r.outcome.ok) return { reserved: r.outcome, recorded: null };
  await yields(i * 17 + 3); // the validation pipe
  const verdict = matchedCodeId === undefined ? {} : { matchedCodeId };
  const rec = await store.recordOutcome(key, policy, r.outcome.reservation_id, verdict, T0 + 2 * S);
  return { reserved: r.outcome, recorded: rec.tx === null ? null : rec.outcome };
}

describe('memory store: parallel requests on one transaction', () => {
  it('1,000 interleaved wrong entries: exactly allowed_otp_retry + 1 are evaluated, one aborts and locks', async () => {
    const { store } = await storeWithCode();
    const entries = await Promise.all(Array.from({ length: 1000 }, (_, i) => entry(store, i)));
    const evaluated = entries.filter((e) => e.recorded !== null).map((e) => e.recorded?.code);
    assert.equal(evaluated.length, 3);
    assert.deepEqual(evaluated.filter((c) => c === 'INVALID_OTP').length, 2);
    const aborting = entries.filter((e) => e.recorded?.code === 'MAX_ATTEMPTS');
    assert.equal(aborting.length, 1);
    const refused = entries.filter((e) => e.recorded === null);
    assert.equal(refused.length, 997);
    for (const e of refused) assert.ok(e.reserved !== 'missing' && !e.reserved.ok && e.reserved.code === 'MAX_ATTEMPTS');
    const tx = await store.get(key, T0 + 3 * S);
    assert.equal(tx?.phase, 'ABORTED');
    assert.equal(tx?.wrong_entries, 3);
    assert.equal(tx?.entry_reservations.length, 0);
    assert.ok(await store.getLock('otp', 'alice', T0 + 3 * S));
  });

  it('1,000 interleaved entries of the right code: accepted exactly once', async () => {
    const { store, codeId } = await storeWithCode();
    const entries = await Promise.all(Array.from({ length: 1000 }, (_, i) => entry(store, i, codeId)));
    const codes = entries.map((e) => e.recorded?.code ?? (e.reserved === 'missing' ? 'missing' : e.reserved.ok ? 'reserved' : e.reserved.code));
    assert.equal(codes.filter((c) => c === 'COMPLETED').length, 1);
    assert.ok(codes.every((c) => c === 'COMPLETED' || c === 'NO_PENDING_CODE' || c === 'MAX_ATTEMPTS'), codes.join());
    assert.equal((await store.get(key, T0 + 3 * S))?.phase, 'COMPLETED');
  });

  it('parallel resends never exceed max_codes', async () => {
    const { store } = await storeWithCode();
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        await yields(i);
        return store.reserveSend(key, policy, T0 + 40 * S, 'resend');
      }),
    );
    const granted = results.filter((r) => r.outcome.ok);
    assert.equal(granted.length, 2);
    assert.ok(results.every((r) => r.outcome.ok || r.outcome.code === 'MAX_CODES'));
  });

  it('parallel GETs open one transaction', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    const opened = await Promise.all(Array.from({ length: 50 }, () => store.open(key, {}, policy, T0)));
    const ids = new Set(opened.map((o) => (o.ok ? o.tx.id : 'locked')));
    assert.equal(ids.size, 1);
    assert.equal(opened.filter((o) => o.ok && o.created).length, 1);
    assert.equal(store.size(), 1);
  });
});
