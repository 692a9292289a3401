import assert from 'node:assert/strict';
import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { lockKey, txKey } from '../../src/redis/keys.js';
import type { RedisTopology } from '../../src/redis/connection.js';
import type { TransactionStore } from '../../src/store/types.js';
import { makeOtpPolicy } from '../../src/transaction/index.js';
import { storeContract } from '../support/store-contract.js';
import { requireTopologyOrSkip, startCluster, startSentinel } from '../support/redis-topology.js';

/**
 * Issue 25: the whole TransactionStore contract (test/support/store-contract.ts) on a real Redis Cluster (3 masters,
 * 3 replicas) and on a real Sentinel group (1 master, 2 replicas, 3 sentinels), each started once for its suite on
 * loopback ports of its own. Every store here makes its own connection from the topology, as a deployment does; a
 * twin is a second connection, as a second process would have.
 */
for (const kind of ['cluster', 'sentinel'] as const) {
  describe(`redis store on a ${kind === 'cluster' ? 'Cluster' : 'Sentinel group'}`, function () {
    this.timeout(60_000);
    let topology: RedisTopology;
    let stop: () => Promise<void> = async () => undefined;
    const stores: RedisTransactionStore[] = [];
    let n = 0;

    before(async function () {
      requireTopologyOrSkip(this, `a Redis ${kind}`);
      if (kind === 'cluster') {
        const c = await startCluster();
        topology = { kind: 'cluster', rootNodes: c.rootNodes.slice(0, 3) };
        stop = () => c.stop();
      } else {
        const s = await startSentinel();
        topology = { kind: 'sentinel', name: s.name, nodes: s.sentinels };
        stop = () => s.stop();
      }
    });
    after(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
      await stop();
    });

    const connect = async (prefix: string, options: Record<string, unknown> = {}): Promise<RedisTransactionStore> => {
      const store = new RedisTransactionStore({ topology, prefix, failFast: true, ...options });
      stores.push(store);
      await store.ready();
      return store;
    };
    const prefixOf = (store: TransactionStore): string => (store as RedisTransactionStore).prefix;

    it(`really is a ${kind}: the store's connection is the topology's client`, async () => {
      const store = await connect('probe:');
      const client = store.client as unknown as Record<string, unknown>;
      assert.ok(kind === 'cluster' ? 'masters' in client : !('masters' in client), 'a Cluster client has masters, a Sentinel one not');
      const opened = await store.open({ sessionId: 's', authenticatorId: 'otp', subject: 'alice' }, {}, makeOtpPolicy({}), Date.now());
      assert.equal(opened.ok, true);
    });

    storeContract(kind, () => ({
      async create(options = {}) {
        n += 1;
        return connect(`otp-topo:${n}:`, options);
      },
      async twin(store) {
        return connect(prefixOf(store));
      },
      async backendTtl(store, what) {
        const key = 'tx' in what
          ? txKey(prefixOf(store), what.tx.authenticatorId, what.tx.subject, what.tx.sessionId)
          : lockKey(prefixOf(store), what.lock.authenticatorId, what.lock.subject);
        return ((store as RedisTransactionStore).client as unknown as { pTTL(k: string): Promise<number> }).pTTL(key);
      },
    }));
  });
}
