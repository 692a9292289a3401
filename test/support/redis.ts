/**
 * Real Redis for the test/redis suites. `describeRedis(title, body)` connects to REDIS_URL (default
 * redis://127.0.0.1:6379) before the suite; when Redis does not answer, the suite FAILS with REQUIRE_REDIS=1 and
 * is otherwise skipped, saying so in one line. Each suite gets its own key prefix
 * (`otp-test:<pid>:<time>:<n>:`) and deletes every key under it afterwards (SCAN MATCH prefix*).
 */
import { createClient, type RedisClientType } from 'redis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export type TestRedisClient = RedisClientType;

export interface RedisContext {
  readonly url: string;
  /** A connected client (set in the suite's `before`). */
  client: TestRedisClient;
  /** This suite's key prefix; every key a test writes starts with it. */
  prefix: string;
  /** Another connection to the same server, closed after the suite. */
  newClient(): Promise<TestRedisClient>;
}

let suiteCount = 0;
let saidSkipped = false;

/** Connects with a short time-out and no reconnection; null when Redis does not answer. */
export async function tryConnect(url = REDIS_URL, timeoutMs = 1500): Promise<TestRedisClient | null> {
  const client: TestRedisClient = createClient({ url, socket: { connectTimeout: timeoutMs, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    if (client.isOpen) client.destroy();
    return null;
  }
}

export async function deleteKeys(client: TestRedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) deleted += await client.unlink(keys);
  }
  return deleted;
}

export function describeRedis(title: string, body: (ctx: RedisContext) => void): void {
  describe(title, function () {
    const clients: TestRedisClient[] = [];
    const ctx = {
      url: REDIS_URL,
      async newClient(): Promise<TestRedisClient> {
        const c = await tryConnect(REDIS_URL);
        if (c === null) throw new Error(`Redis was not reachable at ${REDIS_URL}`);
        clients.push(c);
        return c;
      },
    } as RedisContext;

    before(async function () {
      const client = await tryConnect(REDIS_URL);
      if (client === null) {
        if (process.env.REQUIRE_REDIS === '1') throw new Error(`Redis was not reachable at ${REDIS_URL} and REQUIRE_REDIS=1`);
        if (!saidSkipped) console.log(`  Redis was not reachable at ${REDIS_URL}: the Redis suites were skipped (REQUIRE_REDIS=1 makes this a failure)`);
        saidSkipped = true;
        this.skip();
      }
      clients.push(client);
      ctx.client = client;
      suiteCount += 1;
      ctx.prefix = `otp-test:${process.pid}:${Date.now()}:${suiteCount}:`;
    });

    after(async () => {
      if (ctx.client?.isReady) await deleteKeys(ctx.client, ctx.prefix);
      for (const c of clients) if (c.isOpen) await c.close();
    });

    body(ctx);
  });
}
