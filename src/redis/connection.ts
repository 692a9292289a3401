/**
 * The Redis connection the transaction store and the rate limits share: what they need of one, and the one a store
 * creates from a url, which fails closed while Redis is away (no offline queue), reconnects with backoff by
 * itself, says once per outage that it lost the connection, and never shows the password.
 */
import { createClient } from 'redis';
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

export interface RedisConnectionOptions {
  url: string;
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

/** A client the store created from a url: reconnects with backoff by itself; closed by the store. */
export class OwnedClient {
  readonly client;
  readonly connected: Promise<void>;
  private everReady = false;
  private down = false;

  constructor(options: RedisConnectionOptions) {
    const maxDelay = options.reconnectMaxDelayMs ?? 2000;
    const where = redactUrl(options.url);
    this.client = createClient({
      url: options.url,
      // While disconnected a command fails at once instead of waiting in a queue: fail closed, answer 503.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 2000,
        reconnectStrategy: (retries: number, cause: Error) => {
          if (!this.everReady && options.failFast === true) return new Error(`Redis not reachable at ${where}: ${cause.message}`);
          return Math.min(maxDelay, 50 * 2 ** Math.min(retries, 10)) + Math.floor(Math.random() * 50);
        },
      },
    });
    // Without a listener node-redis would crash the process on a lost connection; say it once per outage.
    this.client.on('error', (error: Error) => {
      if (this.down || !this.everReady) return;
      this.down = true;
      log.warn(`redis store: connection to ${where} lost (${error.message}); failing closed and reconnecting`);
    });
    this.client.on('ready', () => {
      if (this.down) log.info(`redis store: reconnected to ${where}`);
      this.everReady = true;
      this.down = false;
    });
    this.connected = this.client.connect().then(() => undefined);
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
