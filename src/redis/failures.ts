/**
 * What a node-redis failure means for the Redis store and the Redis rate limits: a server that is away, slow or
 * saying "not now" becomes StoreUnavailableError (fail closed); a script error stays what it is (a bug).
 */
import { StoreUnavailableError, isStoreUnavailable } from '../errors.js';

/** Redis answers that mean "not now" (loading, fail-over, cluster re-sharding), not a bug: fail closed too. */
// A server that refuses our credentials (NOAUTH, WRONGPASS, NOPERM) is one we cannot use: an outage, not a bug.
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|NOAUTH|WRONGPASS|NOPERM)\b/;

/** Whether `error` is a reply from the server (node-redis ErrorReply and its kin) rather than a failed connection. */
function isReplyError(error: unknown): boolean {
  for (let p = error as object | null; p !== null && p !== undefined; p = Object.getPrototypeOf(p) as object | null) {
    if ((p as { constructor?: { name?: string } }).constructor?.name === 'ErrorReply') return true;
  }
  return false;
}

/**
 * What a node-redis failure means for a store: an error reply (a script error: a bug) is returned as it is; a lost
 * or refused connection, a time-out, a closed client, or a server that says "not now" is StoreUnavailableError.
 */
export function storeErrorFromRedis(error: unknown): Error {
  if (isStoreUnavailable(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isReplyError(error) && !UNAVAILABLE_REPLY.test(message)) return error as Error;
  return new StoreUnavailableError(`Redis is unreachable: ${message}`, { cause: error });
}

/**
 * `promise`, or StoreUnavailableError when no answer comes within `ms` (0: wait for ever). node-redis's own command
 * timeout only covers the wait before a command is written, not a server that stops answering afterwards. A late
 * answer is dropped; the step may still have been applied by then, which the stores tolerate: a reservation that
 * is never settled stays counted (fail closed), and a compare-and-set write that landed is found on the next step.
 */
export function failAfter<T>(promise: Promise<T>, ms: number, what = 'Redis'): Promise<T> {
  if (!(ms > 0)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
