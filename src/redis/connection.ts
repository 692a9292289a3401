/**
 * The Redis connection the transaction store and the rate limits share: what they need of one, and the one a store
 * creates from a url, which fails closed while Redis is away (no offline queue), reconnects with backoff by
 * itself, says once per outage that it lost the connection, and never shows the password.
 */
import { createClient, createCluster, createSentinel } from 'redis';
import type { StoreConfig } from '../config/types.js';
import { log } from '../events/logger.js';

export type ScriptArgs = { keys: string[]; arguments: string[] };

/**
 * What the store needs of a node-redis 5 connection: a client (`createClient`), a Sentinel (`createSentinel`) or
 * a Cluster (`createCluster`), already connected. Every command the store sends is EVALSHA (or EVAL after NOSCRIPT).
 */
export interface RedisScriptClient {
  evalSha(sha1: string, options?: ScriptArgs): Promise<unknown>;
  eval(script: string, options?: ScriptArgs): Promise<unknown>;
  readonly isOpen: boolean;
  /** Client and Sentinel have it; a Cluster does not (its isOpen is used). */
  readonly isReady?: boolean;
}

/**
 * Where Redis is: one server (`url`), a Cluster (its root nodes: the client learns the rest and follows MOVED and
 * fail-overs), or a Sentinel group (the sentinels and the master's name: the client asks them for the master and
 * follows its fail-over). `username`/`password` apply to every data node (and to the sentinels unless
 * `sentinelPassword` is given); `rediss://` URLs, or `tls`, use TLS.
 */
export type RedisTopology =
  | { readonly kind: 'server'; readonly url: string }
  | { readonly kind: 'cluster'; readonly rootNodes: readonly string[] }
  | { readonly kind: 'sentinel'; readonly name: string; readonly nodes: readonly string[] };

export interface RedisCredentials {
  username?: string | undefined;
  password?: string | undefined;
  /** The sentinels' own password, when it is not the data nodes'. */
  sentinelPassword?: string | undefined;
  tls?: boolean | undefined;
}

export interface RedisConnectionOptions {
  url?: string;
  /** Instead of `url`: a Cluster or a Sentinel group (or one server). */
  topology?: RedisTopology;
  credentials?: RedisCredentials;
  /** Time-out of one connection attempt; default 2000. */
  connectTimeoutMs?: number;
  /** Longest wait between two reconnection attempts; default 2000. */
  reconnectMaxDelayMs?: number;
  /**
   * True: when the FIRST connection fails, `ready()` rejects and the client stops trying (start-up should fail
   * loudly, see connectRedisStore). False (default): keep trying with backoff from the start.
   */
  failFast?: boolean;
}

/** The connection a `store` block of type redis describes: its topology and credentials; null for another type. */
export function connectionOf(store: StoreConfig): Pick<RedisConnectionOptions, 'topology' | 'credentials'> | null {
  if (store.type !== 'redis') return null;
  const topology: RedisTopology | null = store.cluster ? { kind: 'cluster', rootNodes: store.cluster.root_nodes }
    : store.sentinel ? { kind: 'sentinel', name: store.sentinel.name, nodes: store.sentinel.nodes }
      : store.url ? { kind: 'server', url: store.url } : null;
  if (!topology) return null;
  return {
    topology,
    credentials: { username: store.username, password: store.password, sentinelPassword: store.sentinel?.password, tls: store.tls === true },
  };
}

/** The topology of connection options: `topology`, else the one server of `url`. */
export function topologyOf(options: RedisConnectionOptions): RedisTopology {
  if (options.topology) return options.topology;
  if (!options.url) throw new Error('Redis connection: give a url or a topology');
  return { kind: 'server', url: options.url };
}

/** The topology for messages: its addresses without secrets. */
export function describeTopology(topology: RedisTopology): string {
  switch (topology.kind) {
    case 'server': return redactUrl(topology.url);
    case 'cluster': return `the Cluster of ${topology.rootNodes.map(redactUrl).join(', ')}`;
    case 'sentinel': return `the Sentinel master "${topology.name}" of ${topology.nodes.map(redactUrl).join(', ')}`;
  }
}

/** `redis://user:secret@host` without the secret, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable url)';
  }
}

/** host and port of a `redis://host:port` URL (a sentinel is named by address, not by URL). */
function nodeAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 26379) };
}

type AnyRedis = ReturnType<typeof createClient> | ReturnType<typeof createCluster> | ReturnType<typeof createSentinel>;
type Cluster = ReturnType<typeof createCluster>;

/** What node-redis keeps of its slot map: `rediscover` reads the slots anew from the node of a client it is given. */
interface ClusterSlots { rediscover(startWith: unknown): Promise<void> }

/**
 * node-redis 5 reads a Cluster's slots again only on a MOVED or ASK answer (node-redis issue #2806). A master that
 * dies gives neither: its slots stay pointed at a node that refuses connections, so every step of a transaction in
 * them would answer 503 for ever, even after its replica took over. So each error of a node's connection asks a
 * live master for the slots (one discovery at a time, at most one every RETHINK_MS), until the map no longer names
 * the dead node and its client is dropped (and its errors stop).
 */
const RETHINK_MS = 250;

function followFailovers(cluster: Cluster): void {
  let last = 0;
  let running = false;
  const rethink = (): void => {
    const now = Date.now();
    if (running || now - last < RETHINK_MS || !cluster.isOpen) return;
    const live = cluster.masters.find((m) => (m.client as { isReady?: boolean } | undefined)?.isReady === true)?.client;
    if (!live) return;
    last = now;
    running = true;
    const slots = (cluster as unknown as { _slots: ClusterSlots })._slots;
    void slots.rediscover(live).catch(() => undefined).finally(() => { running = false; });
  };
  (cluster as unknown as NodeJS.EventEmitter).on('node-error', rethink);
}

/**
 * A connection the store created: one server, a Cluster or a Sentinel group; reconnects with backoff by itself;
 * fails closed while away (no offline queue: a command fails at once and the request answers 503); closed by the
 * store.
 */
export class OwnedClient {
  readonly client: AnyRedis;
  readonly connected: Promise<void>;
  private everReady = false;
  private down = false;

  constructor(options: RedisConnectionOptions) {
    const maxDelay = options.reconnectMaxDelayMs ?? 2000;
    const topology = topologyOf(options);
    const where = describeTopology(topology);
    const auth = options.credentials ?? {};
    const nodeOptions = {
      // While disconnected a command fails at once instead of waiting in a queue: fail closed, answer 503.
      disableOfflineQueue: true,
      ...(auth.username ? { username: auth.username } : {}),
      ...(auth.password ? { password: auth.password } : {}),
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 2000,
        ...(auth.tls ? { tls: true as const } : {}),
        reconnectStrategy: (retries: number, cause: Error) => {
          if (!this.everReady && options.failFast === true) return new Error(`Redis not reachable at ${where}: ${cause.message}`);
          return Math.min(maxDelay, 50 * 2 ** Math.min(retries, 10)) + Math.floor(Math.random() * 50);
        },
      },
    };
    if (topology.kind === 'cluster') {
      const cluster = createCluster({ rootNodes: topology.rootNodes.map((url) => ({ url })), defaults: nodeOptions });
      this.client = cluster;
      followFailovers(cluster);
    } else if (topology.kind === 'sentinel') {
      const sentinelAuth = auth.sentinelPassword !== undefined ? { password: auth.sentinelPassword } : {};
      this.client = createSentinel({
        name: topology.name,
        sentinelRootNodes: topology.nodes.map(nodeAddress),
        nodeClientOptions: nodeOptions,
        sentinelClientOptions: { ...nodeOptions, ...sentinelAuth },
        passthroughClientErrorEvents: true,
      });
    } else {
      this.client = createClient({ url: topology.url, ...nodeOptions });
    }
    const client = this.client as unknown as NodeJS.EventEmitter;
    // Without a listener node-redis would crash the process on a lost connection; say it once per outage.
    client.on('error', (error: Error) => {
      if (this.down || !this.everReady) return;
      this.down = true;
      log.warn(`redis store: connection to ${where} lost (${error.message}); failing closed and reconnecting`);
    });
    const up = () => {
      if (this.down) log.info(`redis store: reconnected to ${where}`);
      this.everReady = true;
      this.down = false;
    };
    client.on('ready', up);
    this.connected = (this.client.connect() as Promise<unknown>).then(() => { up(); });
    // A store built without awaiting `ready()` must not leave an unhandled rejection behind.
    this.connected.catch(() => undefined);
  }

  async close(): Promise<void> {
    if (!this.client.isOpen) return;
    try {
      await this.client.close();
    } catch {
      this.client.destroy();
    }
  }
}
