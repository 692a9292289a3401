import assert from 'node:assert/strict';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import type { TxKey } from '../../src/store/types.js';
import { S, T0, policyWith } from './transaction.fixtures.js';

// The memory store keys its table by the session id alone and gives a session holding several transactions (a
// chain with two OTP steps, or another subject) a map of its own (src/store/memory-table.ts). These scenarios
// walk that second path: every transaction stays its own, whichever of them is replaced or forgotten first.

const policy = policyWith(); // ttl 600 s: an untouched record with nothing sent is forgotten at created + 1200 s
const key = (subject: string, authenticatorId = 'otp', sessionId = 's1'): TxKey => ({ sessionId, authenticatorId, subject });
const ids = () => {
  let n = 0;
  return () => `id${(n += 1)}`;
};

describe('memory store: several transactions in one session', () => {
  it('each (authenticator, subject) is its own transaction; a key that is not held answers nothing', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0, newId: ids() });
    await store.open(key('alice'), {}, policy, T0);
    assert.equal(await store.get(key('bob'), T0), null, 'the session holds one transaction, of another subject');
    assert.equal(await store.get(key('alice', 'otp2'), T0), null, 'nor of another authenticator');
    await store.open(key('bob'), {}, policy, T0);
    await store.open(key('alice', 'otp2'), {}, policy, T0);
    await store.open(key('alice', 'otp', 's2'), {}, policy, T0);
    assert.equal(store.size(), 4);
    const held = await Promise.all([key('alice'), key('bob'), key('alice', 'otp2'), key('alice', 'otp', 's2')].map((k) => store.get(k, T0)));
    assert.deepEqual(held.map((tx) => tx?.id), ['id1', 'id2', 'id3', 'id4']);
    assert.deepEqual(held.map((tx) => [tx?.session_id, tx?.authenticator_id, tx?.subject]), [
      ['s1', 'otp', 'alice'], ['s1', 'otp', 'bob'], ['s1', 'otp2', 'alice'], ['s2', 'otp', 'alice'],
    ]);
    assert.equal(await store.get(key('carol'), T0), null);
  });

  it('a step, a cancel and a replacement touch only their own transaction', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0, newId: ids() });
    await store.open(key('alice'), {}, policy, T0);
    await store.open(key('bob'), {}, policy, T0);
    assert.equal((await store.reserveSend(key('bob'), policy, T0, 'first')).outcome.ok, true);
    assert.deepEqual((await store.cancel(key('alice'), policy, T0 + S)).outcome, { ok: true, already: false });
    const replaced = await store.open(key('alice'), {}, policy, T0 + 2 * S);
    assert.ok(replaced.ok && replaced.created && replaced.tx.id === 'id3');
    const bob = await store.get(key('bob'), T0 + 2 * S);
    assert.equal(bob?.id, 'id2');
    assert.equal(bob?.send_reservations.length, 1);
    assert.equal(store.size(), 2);
  });

  it('forgetting the first one, by sweep or by a late read, leaves the others reachable', async () => {
    const store = new MemoryTransactionStore({ sweepIntervalMs: 0, newId: ids() });
    await store.open(key('alice'), {}, policy, T0);
    await store.open(key('bob'), {}, policy, T0 + 100 * S);
    await store.open(key('carol'), {}, policy, T0 + 200 * S);
    assert.equal(store.sweep(T0 + 1200 * S), 1);
    assert.equal(await store.get(key('alice'), T0 + 1200 * S), null);
    assert.equal((await store.get(key('bob'), T0 + 1200 * S))?.id, 'id2');
    assert.equal(await store.get(key('bob'), T0 + 1300 * S), null, 'read at its forget time: dropped on the spot');
    assert.equal((await store.get(key('carol'), T0 + 1300 * S))?.id, 'id3');
    assert.equal(store.size(), 1);
    const again = await store.open(key('alice'), {}, policy, T0 + 1300 * S);
    assert.ok(again.ok && again.created && again.tx.id === 'id4');
    assert.equal(store.size(), 2);
    assert.equal(store.sweep(T0 + 2500 * S), 2);
    assert.equal(store.size(), 0);
    assert.equal(store.stats().forgotten, 4);
  });
});
