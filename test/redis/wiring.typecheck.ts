// Compile-time only (not a test file): the wiring docs/deployment.md shows type-checks.
import { RedisStore } from 'connect-redis';
import { createCluster, createSentinel } from 'redis';
import { RedisTransactionStore, connectRedisStore } from '../../src/store/redis-store.js';
import { RedisRateLimits } from '../../src/limits/redis-rate-limits.js';

export async function wire(url: string): Promise<unknown> {
  const prefix = 'otp:';
  const store = await connectRedisStore(url, prefix);
  const limits = new RedisRateLimits(store.client, 'otp', {}, { prefix });
  const sessions = new RedisStore({ client: store.client, prefix: `${prefix}sess:`, disableTouch: true });
  return { store, limits, sessions };
}

/** A Sentinel or a Cluster connection is accepted as it is (docs/deployment.md). */
export function acceptsSentinelAndCluster(): void {
  const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 26379 }] });
  const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:7000' }] });
  void new RedisTransactionStore(sentinel, { prefix: 'otp:' });
  void new RedisTransactionStore(cluster, { prefix: 'otp:' });
  void new RedisRateLimits(cluster, 'otp');
}
