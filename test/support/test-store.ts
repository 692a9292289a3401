/**
 * Which store the harnesses build their apps on: `TEST_STORE=memory` (the default) or `TEST_STORE=redis`, read
 * here and nowhere else (issue 22, "the whole suite on both stores").
 *
 * With `redis`, every harness that builds an app from a config (otp-harness, demo-harness, demo-variant,
 * chain-app, and the few tests that build a config by hand) gets a `store` block of type redis on REDIS_URL
 * (default redis://127.0.0.1:6379) under a key prefix of its own, `otp-ts:<run>:<n>:`, and deletes every key under
 * that prefix when it closes. `<run>` is TEST_STORE_RUN when set (scripts/test-all.ts sets it, and sweeps
 * `otp-ts:<run>:*` after the pass), else this process's pid and start time. A config that already names a Redis
 * store (a test about Redis itself) keeps its own, and so does a host's own store passed in options.
 *
 * This mode is only chosen on purpose, so Redis not answering is a failure, never a skip.
 */
// The built-in valves register themselves here, before a config's pipes are checked against them.
import '../../src/valves/index.js';
import { loadConfigDocument } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import type { AppConfig } from '../../src/config/types.js';
import type { Authn } from '../../src/assembly/create-authn.js';
import { MemoryCredentialStore } from '../../src/store/credential-store.js';
import { RedisCredentialStore } from '../../src/store/redis-credential-store.js';
import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { deleteKeys, REDIS_URL, tryConnect, type TestRedisClient } from './redis.js';
import { redisServerAvailable, startCluster, startSentinel } from './redis-topology.js';

export type TestStoreKind = 'memory' | 'redis' | 'cluster' | 'sentinel';

function readKind(): TestStoreKind {
  const raw = (process.env.TEST_STORE ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'memory') return 'memory';
  if (raw === 'redis' || raw === 'cluster' || raw === 'sentinel') return raw;
  throw new Error(`TEST_STORE must be "memory", "redis", "cluster" or "sentinel", not ${JSON.stringify(process.env.TEST_STORE)}`);
}

/** The store this run's harnesses use. */
export const TEST_STORE: TestStoreKind = readKind();

/**
 * True when the harnesses build their apps on Redis: one server (TEST_STORE=redis, REDIS_URL), or (issue 25) a
 * Cluster of 3 masters and 3 replicas (cluster) or a Sentinel group (sentinel) that this process starts on
 * loopback ports of its own the first time a harness asks (test/support/redis-topology.ts) and stops on exit.
 */
export const onRedisStore = TEST_STORE !== 'memory';

let topologyBlock: Promise<Record<string, unknown>> | null = null;
let stopTopology: (() => Promise<void>) | null = null;

// Mocha's root `after` (this module is first imported while spec files load): the topology stops with the run.
if (typeof after === 'function') after(async () => { await stopTopology?.(); });

/** The `store` block's address part for a Cluster or a Sentinel group, started once per process. */
function topologyAddress(kind: 'cluster' | 'sentinel'): Promise<Record<string, unknown>> {
  topologyBlock ??= (async () => {
    if (!redisServerAvailable()) throw new Error(`TEST_STORE=${kind}, but redis-server/redis-cli are not on PATH`);
    if (kind === 'cluster') {
      const cluster = await startCluster();
      stopTopology = () => cluster.stop();
      return { cluster: { root_nodes: cluster.rootNodes.slice(0, 3) } };
    }
    const group = await startSentinel();
    stopTopology = () => group.stop();
    return { sentinel: { name: group.name, nodes: group.sentinels } };
  })();
  return topologyBlock;
}

/** This run's part of every key prefix (only letters, digits, `.`, `_`, `-`: the schema's prefix pattern). */
export const TEST_STORE_RUN = process.env.TEST_STORE_RUN ?? `${process.pid}.${Date.now().toString(36)}`;

/** Every key this run writes through a harness starts with this. */
export const RUN_PREFIX = `otp-ts:${TEST_STORE_RUN}:`;

/**
 * For a test inherently about the memory store: skips it on TEST_STORE=redis, saying why.
 * Call as `memoryOnly(this, 'why')` first thing in a `function () {}` test (its title then says why).
 */
export function memoryOnly(ctx: Mocha.Context, reason: string): void {
  if (!onRedisStore) return;
  if (ctx.test !== undefined) ctx.test.title = `${ctx.test.title} [memory store only: ${reason}]`;
  ctx.skip();
}

let checked: Promise<void> | null = null;

/** Resolves once Redis answered PING (checked once per process); rejects loudly when it does not. */
export function redisReachable(): Promise<void> {
  checked ??= (async () => {
    const client = await tryConnect(REDIS_URL, 3000);
    if (client === null) throw new Error(`TEST_STORE=redis but Redis was not reachable at ${REDIS_URL} (start redis-server, or set REDIS_URL)`);
    await client.close();
  })();
  return checked;
}

let instances = 0;

/** One harness's store: the `store` block to put in its config, and what to do when the harness closes. */
export interface TestStore {
  readonly kind: TestStoreKind;
  /** The config `store` block on redis, else undefined (leave the config's own). */
  readonly block: { type: 'redis'; prefix: string; url?: string; cluster?: unknown; sentinel?: unknown } | undefined;
  /** This instance's key prefix on redis, else ''. */
  readonly prefix: string;
  /** Puts `block` into a raw config object (unless it already names a Redis store); answers the object. */
  apply<T extends Record<string, unknown>>(config: T): T;
  /** Deletes every key under this instance's prefix (redis); nothing on memory. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** A new store for one harness instance: on redis a fresh prefix (after checking Redis answers). */
export async function testStore(): Promise<TestStore> {
  if (!onRedisStore) {
    return { kind: 'memory', block: undefined, prefix: '', apply: (config) => config, cleanup: async () => undefined };
  }
  const address = TEST_STORE === 'cluster' || TEST_STORE === 'sentinel' ? await topologyAddress(TEST_STORE) : (await redisReachable(), { url: REDIS_URL });
  instances += 1;
  const prefix = `${RUN_PREFIX}${instances}:`;
  const block = { type: 'redis' as const, ...address, prefix };
  let cleaned = false;
  return {
    kind: TEST_STORE,
    block,
    prefix,
    apply(config) {
      if (namesRedis(config.store)) return config;
      (config as Record<string, unknown>).store = { ...block };
      return config;
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      // A Cluster or a Sentinel group of this process is gone with it, keys and all; one server is shared.
      if (TEST_STORE === 'redis') await deleteUnder(prefix);
    },
  };
}

/**
 * `loadConfig(file, env)` with this instance's store block put in (for a config file the harness does not write
 * itself, such as config/default.json).
 */
export function loadConfigOn(ts: TestStore, file: string, env: NodeJS.ProcessEnv): AppConfig {
  const doc = loadConfigDocument(file, env);
  if (ts.block === undefined) return validateConfig(doc);
  return validateConfig({ ...doc, data: ts.apply({ ...(doc.data as Record<string, unknown>) }) });
}

/** Deletes every key under `prefix` on REDIS_URL (its own short connection). */
export async function deleteUnder(prefix: string): Promise<number> {
  const client = await tryConnect(REDIS_URL, 3000);
  if (client === null) throw new Error(`Redis was not reachable at ${REDIS_URL} to delete the keys under ${prefix}`);
  try {
    return await deleteKeys(client, prefix);
  } finally {
    await client.close();
  }
}

/**
 * Makes `authn.close()` also delete the instance's keys, for harnesses that hand the app's Authn to the test
 * (demo-harness, demo-variant, chain-app). Answers `authn`.
 */
export function cleanupOnClose<A extends Pick<Authn, 'store' | 'close'>>(authn: A, ts: TestStore): A {
  if (ts.block === undefined) return authn;
  assertOnRedis(ts, authn);
  const close = authn.close.bind(authn);
  authn.close = async () => {
    try {
      await close();
    } finally {
      await ts.cleanup();
    }
  };
  return authn;
}

/**
 * On TEST_STORE=redis, throws unless the app's transactions really are in Redis: the switch must never pass
 * silently on memory. (A test that hands the app its own store is not asked.)
 */
export function assertOnRedis(ts: TestStore, authn: Pick<Authn, 'store'>): void {
  if (ts.block === undefined || authn.store instanceof RedisTransactionStore) return;
  throw new Error(`TEST_STORE=redis, but the app's store is a ${authn.store.constructor.name}`);
}

function namesRedis(store: unknown): boolean {
  return typeof store === 'object' && store !== null && (store as { type?: unknown }).type === 'redis';
}

/**
 * Every credential value the app's credential store holds, as one string (tests look for clear secrets in it):
 * the memory store's own `dump()`, or on Redis every `cred:` key under the store's prefix with its value (JSON
 * values parsed, so a dump reads the same on both stores: `"sealed_secret":"v1.…"`).
 */
export async function credentialDump(authn: Pick<Authn, 'store' | 'credentials'>): Promise<string> {
  const held = authn.credentials.store;
  if (held instanceof MemoryCredentialStore) return held.dump();
  if (!(held instanceof RedisCredentialStore) || !(authn.store instanceof RedisTransactionStore)) {
    throw new Error(`credentialDump: no dump for a ${held.constructor.name} beside a ${authn.store.constructor.name}`);
  }
  const { client, prefix } = authn.store;
  const redis = client as unknown as TestRedisClient;
  const entries: [string, unknown][] = [];
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}cred:*`, COUNT: 500 })) {
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') entries.push([key, parsed(await redis.get(key))]);
      else if (type === 'set') entries.push([key, await redis.sMembers(key)]);
      else if (type === 'hash') entries.push([key, Object.values(await redis.hGetAll(key)).map(parsed)]);
      else entries.push([key, `(${type})`]);
    }
  }
  return JSON.stringify(entries);
}

function parsed(value: string | null): unknown {
  if (value === null) return null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
