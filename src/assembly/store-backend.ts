import type { Store as SessionStore } from 'express-session';
import { RedisStore } from 'connect-redis';
import type { AppConfig, OtpAuthenticatorConfig } from '../config/types.js';
import { MemoryRateLimits } from '../limits/memory-rate-limits.js';
import { RedisRateLimits } from '../limits/redis-rate-limits.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { MemoryTransactionStore } from '../store/memory-store.js';
import { failAfter, storeErrorFromRedis } from '../redis/failures.js';
import { connectionOf } from '../redis/connection.js';
import { connectRedisStore } from '../store/redis-store.js';
import type { TransactionStore } from '../store/types.js';
import { MemoryCredentialStore, type CredentialStore } from '../store/credential-store.js';
import { RedisCredentialStore } from '../store/redis-credential-store.js';
import { redisOidcAdapter } from '../store/redis-oidc-adapter.js';

/**
 * Where state lives, from `store` in the config: one process's memory, or Redis for the transactions, the
 * lockouts, every rate limit and the sessions (one connection shared by all four), so any process can serve any
 * step of a flow. A host may pass its own store instead.
 */

/** A session load or save waits no longer than the store's own steps (RedisStoreOptions.commandTimeoutMs). */
const SESSION_TIMEOUT_MS = 2000;
export interface StoreBackend {
  store: TransactionStore;
  /** Enrolled second factors (TotpEnroll): in the same Redis as the transactions, or in memory. */
  credentials: CredentialStore;
  limits(authenticatorId: string, config: OtpAuthenticatorConfig): RateLimits;
  sessionStore?: SessionStore;
  /** For oidc-provider: its records beside the transactions (Redis); absent on memory (it keeps its own). */
  oidcAdapter?: OidcAdapterClass;
}

/** An oidc-provider Adapter class (constructed once per model name). */
export type OidcAdapterClass = new (name: string) => {
  upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<unknown>;
  find(id: string): Promise<Record<string, unknown> | undefined | void>;
  destroy(id: string): Promise<unknown>;
};

export async function storeBackend(config: AppConfig, options: { store?: TransactionStore; credentials?: CredentialStore }, now: () => number): Promise<StoreBackend> {
  if (options.store) return { store: options.store, credentials: options.credentials ?? new MemoryCredentialStore(), limits: (id, c) => new MemoryRateLimits(id, c.rate_limits) };
  const connection = connectionOf(config.store);
  if (connection) {
    const prefix = config.store.prefix;
    // One connection (a server, a Cluster or a Sentinel group) for the transactions, sessions, limits, credentials
    // and OIDC data alike.
    const store = await connectRedisStore(connection, prefix);
    return {
      store,
      credentials: options.credentials ?? new RedisCredentialStore(store.client, prefix),
      limits: (id, c) => new RedisRateLimits(store.client, id, c.rate_limits, { prefix }),
      ...(config.oidc ? { oidcAdapter: redisOidcAdapter(store.client, prefix) as unknown as OidcAdapterClass } : {}),
      // disableTouch: an unchanged session costs no write, which keeps a `start` within its round-trip budget.
      sessionStore: failClosedSessions(new RedisStore({ client: store.client, prefix: `${prefix}sess:`, disableTouch: true })),
    };
  }
  return { store: new MemoryTransactionStore({ clock: now }), credentials: options.credentials ?? new MemoryCredentialStore(), limits: (id, c) => new MemoryRateLimits(id, c.rate_limits) };
}

/**
 * A session store whose every failure is a StoreUnavailableError, so a Redis outage seen while loading or saving
 * the session answers 503 UNAVAILABLE like the store's own (node-redis reports an offline client with a plain Error).
 */
function failClosedSessions(store: RedisStore): RedisStore {
  for (const method of ['get', 'set', 'destroy', 'touch'] as const) {
    const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>;
    (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const last = args[args.length - 1];
      const callback = typeof last === 'function' ? (last as (err?: unknown, data?: unknown) => void) : undefined;
      const passed = callback ? args.slice(0, -1) : args;
      // A server that stops answering must not hold a request for ever: the same time-out as the store's steps.
      const done = failAfter(original(...passed), SESSION_TIMEOUT_MS).then(
        (data) => { callback?.(undefined, data); return data; },
        (error: unknown) => {
          const mapped = storeErrorFromRedis(error);
          if (callback) callback(mapped);
          else throw mapped;
          return undefined;
        },
      );
      return done;
    };
  }
  return store;
}
