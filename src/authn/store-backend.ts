import type { Store as SessionStore } from 'express-session';
import { RedisStore } from 'connect-redis';
import type { AppConfig, OtpAuthenticatorConfig } from '../config/types.js';
import { MemoryRateLimits } from '../limits/memory-rate-limits.js';
import { RedisRateLimits } from '../limits/redis-rate-limits.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { MemoryTransactionStore } from '../store/memory-store.js';
import { connectRedisStore } from '../store/redis-store.js';
import type { TransactionStore } from '../store/types.js';

/**
 * Where state lives, from `store` in the config: one process's memory, or Redis for the transactions, the
 * lockouts, every rate limit and the sessions (one connection shared by all four), so any process can serve any
 * step of a flow. A host may pass its own store instead.
 */
export interface StoreBackend {
  store: TransactionStore;
  limits(authenticatorId: string, config: OtpAuthenticatorConfig): RateLimits;
  sessionStore?: SessionStore;
}

export async function storeBackend(config: AppConfig, options: { store?: TransactionStore }, now: () => number): Promise<StoreBackend> {
  if (options.store) return { store: options.store, limits: (id, c) => new MemoryRateLimits(id, c.rate_limits) };
  if (config.store.type === 'redis' && config.store.url) {
    const prefix = config.store.prefix;
    const store = await connectRedisStore(config.store.url, prefix);
    return {
      store,
      limits: (id, c) => new RedisRateLimits(store.client, id, c.rate_limits, { prefix }),
      // disableTouch: an unchanged session costs no write, which keeps a `start` within its round-trip budget.
      sessionStore: new RedisStore({ client: store.client, prefix: `${prefix}sess:`, disableTouch: true }),
    };
  }
  return { store: new MemoryTransactionStore({ clock: now }), limits: (id, c) => new MemoryRateLimits(id, c.rate_limits) };
}
