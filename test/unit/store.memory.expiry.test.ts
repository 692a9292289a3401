import assert from 'node:assert/strict';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import { ExpiryIndex } from '../../src/store/expiry-index.js';
import type { TxKey } from '../../src/store/types.js';
import { A, S, T0, policyWith } from './transaction.fixtures.js';

const policy = policyWith(); // ttl 600 s: an untouched record with nothing sent is forgotten at created + 1200 s
const keyOf = (i: number): TxKey => ({ sessionId: `s${i}`, authenticatorId: 'otp', subject: `user${i}` });

async function fill(store: MemoryTransactionStore, count: number, now: number, offset = 0): Promise<void> {
  for (let i = offset; i < offset + count; i += 1) await store.open(keyOf(i), {}, policy, now);
}

/** The records a request looks at, and whether it swept: the work counters, not the clock. */
async function costOf(store: MemoryTransactionStore, request: () => Promise<unknown>): Promise<{ examined: number; sweeps: number }> {
  const before = store.stats();
  await request();
  const after = store.stats();
  return { examined: after.examined - before.examined, sweeps: after.sweeps - before.sweeps };
}

describe('memory store: expiry of records', () => {
  describe('with 100,000 transactions held', () => {
    const small = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    const large = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    before(async () => {
      await fill(small, 10, T0);
      await fill(large, 100_000, T0);
      await fill(large, 10, T0 + 1000 * S, 100_000);
    });

    it('a request costs what it costs with 10 held, and never sweeps', async () => {
      assert.equal(large.size(), 100_010);
      const now = T0 + 1199 * S;
      for (const store of [small, large]) {
        assert.deepEqual(await costOf(store, () => store.get(keyOf(5), now)), { examined: 1, sweeps: 0 });
        assert.deepEqual(await costOf(store, () => store.reserveSend(keyOf(5), policy, now, 'first')), { examined: 1, sweeps: 0 });
        assert.deepEqual(await costOf(store, () => store.open(keyOf(5), {}, policy, now)), { examined: 1, sweeps: 0 });
      }
    });

    it('a sweep looks only at what is due: nothing while nothing is due, exactly the due records when they are', async () => {
      assert.deepEqual(await costOf(large, async () => large.sweep(T0 + 1000 * S)), { examined: 0, sweeps: 1 });
      let forgotten = 0;
      assert.deepEqual(await costOf(large, async () => (forgotten = large.sweep(T0 + 1200 * S))), { examined: 100_000, sweeps: 1 });
      assert.equal(forgotten, 100_000);
      assert.equal(large.size(), 10);
      assert.equal((await costOf(large, async () => large.sweep(T0 + 1300 * S))).examined, 0);
      assert.equal(large.sweep(T0 + 2200 * S), 10);
      assert.equal(large.size(), 0);
    });
  });

  it('a record read at its forget time is gone, without waiting for a sweep', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await store.open(keyOf(1), {}, policy, T0);
    assert.ok(await store.get(keyOf(1), T0 + 1200 * S - 1));
    assert.equal(await store.get(keyOf(1), T0 + 1200 * S), null);
    assert.equal(store.size(), 0);
    const step = await store.reserveSend(keyOf(1), policy, T0 + 1200 * S, 'first');
    assert.deepEqual(step, { tx: null, outcome: { ok: false, code: 'NOT_FOUND' } });
  });

  it('a finished transaction is kept ttl_seconds after it finished, then forgotten', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await store.open(keyOf(1), {}, policy, T0);
    await store.cancel(keyOf(1), policy, T0 + 10 * S);
    assert.equal((await store.get(keyOf(1), T0 + 609 * S))?.phase, 'CANCELLED');
    store.sweep(T0 + 609 * S);
    assert.equal(store.size(), 1);
    store.sweep(T0 + 610 * S);
    assert.equal(store.size(), 0);
  });

  it('a send moves a pending record\'s forget time to ttl after its newest code expires', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0 });
    await store.open(keyOf(1), {}, policy, T0);
    const r = await store.reserveSend(keyOf(1), policy, T0 + 500 * S, 'first');
    if (r.tx === null || !r.outcome.ok) throw new Error('refused');
    await store.commitSend(keyOf(1), policy, r.outcome.reservation_id, {
      id: 'c1', hash: 'h', destination: A, sent_at: T0 + 500 * S, expires_at: T0 + 1100 * S,
    });
    store.sweep(T0 + 1200 * S);
    assert.equal(store.size(), 1, 'the old forget time no longer applies');
    store.sweep(T0 + 1700 * S);
    assert.equal(store.size(), 0);
  });

  it('the unref\'d timer sweeps by itself and stops at close', async () => {
    let now = T0;
    const store = new MemoryTransactionStore({ sweepIntervalMs: 5, clock: () => now });
    await store.open(keyOf(1), {}, policy, T0);
    now = T0 + 2000 * S;
    for (let i = 0; i < 200 && store.size() > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(store.size(), 0);
    await store.close();
    assert.equal(await store.ping(), false);
    await assert.rejects(store.get(keyOf(1)), /closed/);
  });
});

describe('expiry index', () => {
  /** An entry as the store files one: its own object, remembering its bucket. */
  const entry = (name: string) => ({ name, expiryBucket: null as number | null });

  it('after a long pause walks the buckets held, not every bucket number in between', () => {
    const index = new ExpiryIndex<ReturnType<typeof entry>>(1000);
    const a = entry('a');
    const b = entry('b');
    index.schedule(a, 5_000);
    index.schedule(b, 10_000_000_000);
    assert.deepEqual(index.dueKeys(9_000_000_000), [a]);
    index.remove(a);
    assert.equal(index.size, 1);
    assert.deepEqual(index.dueKeys(10_000_000_000), [b]);
  });

  it('moves a key when it is scheduled again', () => {
    const index = new ExpiryIndex<ReturnType<typeof entry>>(1000);
    const a = entry('a');
    index.schedule(a, 5_000);
    index.schedule(a, 50_000);
    assert.equal(index.size, 1);
    assert.deepEqual(index.dueKeys(10_000), []);
    assert.deepEqual(index.dueKeys(50_000), [a]);
  });
});
