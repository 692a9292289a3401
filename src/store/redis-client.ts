import { createClient } from 'redis';
import { log } from '../events/logger.js';
import type { RedisUrlStoreOptions } from './redis-store.js';

/**
 * The connection a Redis store creates from a url: fails closed while Redis is away (no offline queue), reconnects
 * with backoff by itself, says once per outage that it lost the connection, and never shows the password.
 */
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

  constructor(options: RedisUrlStoreOptions) {
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
