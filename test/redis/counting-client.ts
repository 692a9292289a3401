/**
 * Counts what a store sends to Redis: the benchmark's counting proxy (bench/counting-client.ts: every method called
 * on the client, by name, following `withCommandOptions`; a command that calls another is counted once), typed for
 * the test client. One implementation, so the round trips the tests assert are counted as the benchmark counts them.
 */
import { countingClient as counting, type CountingClient as Counting } from '../../bench/counting-client.js';
import type { TestRedisClient } from '../support/redis.js';

export type CountingClient = Counting<TestRedisClient>;

export function countingClient(target: TestRedisClient): CountingClient {
  return counting(target);
}
