import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { lockKey, txKey } from '../../src/redis/keys.js';
import type { TransactionStore } from '../../src/store/types.js';
import { describeRedis, type TestRedisClient } from '../support/redis.js';
import { storeContract } from '../support/store-contract.js';

// The shared TransactionStore scenarios (test/support/store-contract.ts) against real Redis: the same ones the
// memory store passes, plus the keys' PTTL, and the parallel ones through two separate connections.
describeRedis('redis store', (ctx) => {
  let second: TestRedisClient;
  let n = 0;
  before(async () => {
    second = await ctx.newClient();
  });

  const prefixOf = (store: TransactionStore): string => (store as RedisTransactionStore).prefix;

  storeContract('redis', () => ({
    async create(options = {}) {
      n += 1;
      return new RedisTransactionStore(ctx.client, { prefix: `${ctx.prefix}${n}:`, ...options });
    },
    async twin(store) {
      return new RedisTransactionStore(second, { prefix: prefixOf(store) });
    },
    async backendTtl(store, what) {
      const key = 'tx' in what
        ? txKey(prefixOf(store), what.tx.authenticatorId, what.tx.subject, what.tx.sessionId)
        : lockKey(prefixOf(store), what.lock.authenticatorId, what.lock.subject);
      return ctx.client.pTTL(key);
    },
  }));
});
