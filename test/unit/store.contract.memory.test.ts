import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import { storeContract } from '../support/store-contract.js';

// The shared TransactionStore scenarios against the memory store (test/redis/store.contract.redis.test.ts runs
// the same ones against Redis). The memory store has no backend TTL, so those checks are left out here.
storeContract('memory', () => ({
  async create(options = {}) {
    return new MemoryTransactionStore({ sweepIntervalMs: 0, ...options });
  },
  async twin(store) {
    return store;
  },
}));
