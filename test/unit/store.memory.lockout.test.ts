import assert from 'node:assert/strict';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import type { TxKey } from '../../src/store/types.js';
import { A, S, T0, policyWith } from './transaction.fixtures.js';

const policy = policyWith(); // three entries, lockout 600 s
const session = (sessionId: string, subject = 'alice', authenticatorId = 'otp'): TxKey => ({ sessionId, authenticatorId, subject });

async function openWithCode(store: MemoryTransactionStore, key: TxKey, now: number, p = policy): Promise<void> {
  const opened = await store.open(key, {}, p, now);
  assert.equal(opened.ok, true);
  const r = await store.reserveSend(key, p, now, 'first');
  if (r.tx === null || !r.outcome.ok) throw new Error('no reservation');
  await store.commitSend(key, p, r.outcome.reservation_id, {
    id: `code-${key.sessionId}`, hash: 'h', destination: A, sent_at: now, expires_at: now + 600 * S,
  });
}

async function wrongEntry(store: MemoryTransactionStore, key: TxKey, now: number, p = policy) {
  const r = await store.reserveAttempt(key, p, now);
  if (r.tx === null || !r.outcome.ok) throw new Error(`not reserved: ${JSON.stringify(r.outcome)}`);
  return store.recordOutcome(key, p, r.outcome.reservation_id, {}, now);
}

describe('memory store: lockout after an abort', () => {
  it('the aborting entry sets the lockout in the same step; another session is refused LOCKED, nothing opened', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await openWithCode(store, session('s1'), T0);
    await wrongEntry(store, session('s1'), T0 + S);
    await wrongEntry(store, session('s1'), T0 + 2 * S);
    assert.equal(await store.getLock('otp', 'alice', T0 + 2 * S), null, 'no lockout before the abort');
    const last = await wrongEntry(store, session('s1'), T0 + 3 * S);
    assert.equal(last.outcome.code, 'MAX_ATTEMPTS');
    assert.deepEqual(await store.getLock('otp', 'alice', T0 + 3 * S), { authenticator_id: 'otp', subject: 'alice', until: T0 + 603 * S });
    const other = await store.open(session('s2'), {}, policy, T0 + 4 * S);
    assert.deepEqual(other, { ok: false, code: 'LOCKED', retry_after: 599, lock: { authenticator_id: 'otp', subject: 'alice', until: T0 + 603 * S } });
    assert.equal(store.size(), 1);
  });

  it('the aborting session sees its failure; other subjects and other authenticators are not locked', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await openWithCode(store, session('s1'), T0);
    for (let i = 1; i <= 3; i += 1) await wrongEntry(store, session('s1'), T0 + i * S);
    const own = await store.open(session('s1'), {}, policy, T0 + 10 * S);
    assert.ok(own.ok && own.action.action === 'aborted' && !own.created);
    assert.equal((await store.open(session('s2', 'bob'), {}, policy, T0 + 10 * S)).ok, true);
    assert.equal((await store.open(session('s2', 'alice', 'phone'), {}, policy, T0 + 10 * S)).ok, true);
  });

  it('the lockout ends at its until: a new transaction opens, replacing the aborted one still kept', async () => {
    const short = policyWith({ lockout_seconds: 60 });
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await openWithCode(store, session('s1'), T0, short);
    for (let i = 1; i <= 3; i += 1) await wrongEntry(store, session('s1'), T0, short);
    assert.equal((await store.open(session('s2'), {}, short, T0 + 60 * S - 1)).ok, false);
    const own = await store.open(session('s1'), {}, short, T0 + 60 * S - 1);
    assert.ok(own.ok && own.action.action === 'aborted');
    const later = await store.open(session('s1'), {}, short, T0 + 60 * S);
    assert.ok(later.ok && later.created);
    assert.deepEqual(later.action, { action: 'start', replaces: 'ABORTED' });
    assert.equal(later.tx.wrong_entries, 0);
    assert.equal((await store.open(session('s2'), {}, short, T0 + 60 * S)).ok, true);
  });

  it('unlock lifts it at once (the help desk)', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await openWithCode(store, session('s1'), T0);
    for (let i = 1; i <= 3; i += 1) await wrongEntry(store, session('s1'), T0);
    assert.equal(await store.unlock('otp', 'alice'), true);
    assert.equal(await store.unlock('otp', 'alice'), false);
    assert.equal((await store.open(session('s2'), {}, policy, T0 + S)).ok, true);
  });

  it('a lockout is swept at its until like a record', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await openWithCode(store, session('s1'), T0);
    for (let i = 1; i <= 3; i += 1) await wrongEntry(store, session('s1'), T0);
    await store.cancel(session('s1'), policy, T0); // no-op on ABORTED, keeps the record
    assert.equal(store.sweep(T0 + 599 * S), 0);
    assert.equal(store.sweep(T0 + 600 * S), 2, 'the aborted record and the lockout both end at 600 s');
    assert.equal(await store.getLock('otp', 'alice', T0), null);
  });
});

describe('memory store: open and the other steps', () => {
  it('open returns the live transaction instead of creating another; a cancelled one is replaced', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0, newId: (() => { let n = 0; return () => `id${++n}`; })() });
    const a = await store.open(session('s1'), { reference: 'r1' }, policy, T0);
    const b = await store.open(session('s1'), {}, policy, T0 + S);
    assert.ok(a.ok && b.ok);
    assert.equal(a.tx.id, 'id1');
    assert.equal(a.tx.reference, 'r1');
    assert.equal(b.tx.id, 'id1');
    assert.deepEqual(b.action, { action: 'show', state: 'PENDING' });
    const cancelled = await store.cancel(session('s1'), policy, T0 + 2 * S);
    assert.deepEqual(cancelled.outcome, { ok: true, already: false });
    const c = await store.open(session('s1'), {}, policy, T0 + 3 * S);
    assert.ok(c.ok && c.created && c.tx.id === 'id2');
  });

  it('a different subject in the same session is another transaction', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await store.open(session('s1', 'alice'), {}, policy, T0);
    await store.open(session('s1', 'bob'), {}, policy, T0);
    assert.equal(store.size(), 2);
  });

  it('every step on a missing record answers NOT_FOUND', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    const missing = { tx: null, outcome: { ok: false, code: 'NOT_FOUND' } };
    assert.deepEqual(await store.reserveAttempt(session('x'), policy, T0), missing);
    assert.deepEqual(await store.recordOutcome(session('x'), policy, 'r', {}, T0), missing);
    assert.deepEqual(await store.releaseSend(session('x'), policy, 'r', T0), missing);
    assert.deepEqual(await store.cancel(session('x'), policy, T0), missing);
    assert.equal(await store.ping(), true);
  });
});
