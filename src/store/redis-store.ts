/**
 * The TransactionStore on Redis (node-redis 5), for several processes (SPEC section 7). Every mutating operation
 * is ONE Lua script, run with EVALSHA: one round trip, atomic on the server.
 *
 * Where the rules live, and why two kinds of script (docs/deployment.md, "The choice: where the rules run"):
 * - The hot path, `reserveAttempt` and `recordOutcome` (every `start`), runs as dedicated Lua over the JSON record
 *   (src/store/redis-scripts.ts): the counter-level checks (phase, wrong + in flight < allowed_otp_retry + 1, the
 *   accept compare-and-set, counting the wrong entry, the abort and its lockout) in one script each. They must be
 *   one round trip each, and must not retry under contention (500 parallel entries on one transaction would
 *   otherwise turn into a retry storm). The TypeScript pure functions of src/transaction/entry.ts stay the
 *   specification; the scripts mirror them, and the shared contract suite (test/support/store-contract.ts)
 *   runs the same scenarios against this store and the memory store and compares records and outcomes.
 * - Everything else (`open`, `reserveSend`, `commitSend`, `releaseSend`, `cancel`) keeps its rules in TypeScript
 *   only: the store applies the pure transition to the record it last saw and writes the result with one
 *   compare-and-set script (`CAS`: write only if the stored stamp `id#version` is still the one decided on; else
 *   answer the current record, and the step is decided again on it). The store keeps the last record it saw per
 *   key in a small bounded cache, so the usual step (the same process that opened the transaction sends its
 *   code) costs one round trip; a step whose record changed elsewhere costs one more per conflict. These steps
 *   are rare (a GET, a resend) and bounded by the send limits, so retries there are cheap, and no second copy of
 *   the send, open and cancel rules exists.
 * - `reserveEntry` / `recordEntry` (beyond the interface) fold a `start`'s lockout check and its two rate limits
 *   (entries_per_transaction_per_minute, failures_per_subject_per_hour) into the same two scripts, so a `start`
 *   costs the session load plus two round trips (SPEC section 7's budget of three). See docs/deployment.md.
 *
 * Keys (all under `prefix`): `tx:{authenticator:subject}:session` (a hash: stamp, forget-at, record JSON) and
 * `lock:{authenticator:subject}` (the Lockout JSON); the hash tag puts a transaction and its subject's lockout
 * (and failure counter) in one Cluster slot, because `recordOutcome` writes both. Each key expires with PEXPIREAT
 * at its `forgetAt` (src/transaction/view.ts) or the lockout's `until`; a record past its time is never
 * returned even before Redis dropped it, because the scripts compare with the `now` passed in.
 *
 * Fail closed: while Redis is unreachable every operation throws StoreUnavailableError (the HTTP layer answers 503
 * UNAVAILABLE), `ping` answers false, and the client reconnects by itself with backoff.
 */
import { randomUUID } from 'node:crypto';
import { LIMIT_WINDOWS } from '../limits/rate-limits.js';
import {
  maxEntries, cancel, openTransaction, commitSend, releaseSend, reserveSend, isLocked, startAction, forgetAt,
  type OtpPolicy, type CancelOutcome, type CommitSendOutcome, type EntryVerdict, type Lockout, type RecordOutcome,
  type ReleaseSendOutcome, type ReserveAttemptOutcome, type ReserveSendOutcome, type SendFailure, type SendKind,
  type SentCode, type Transition, type TransactionRecord, type TxDestination,
} from '../transaction/index.js';
import { StoreUnavailableError } from '../errors.js';
import { failAfter, storeErrorFromRedis } from '../redis/failures.js';
import { OwnedClient, describeTopology, topologyOf, type RedisConnectionOptions, type RedisScriptClient } from '../redis/connection.js';
import { failuresKey, lockKey, sharedBudgetKey, totpStepKey, txKey } from '../redis/keys.js';
import { CAS, CLAIM_SWITCH, CLAIM_TOTP_STEP, PING, READ_BUDGET, READ_LOCK, READ_TX, RESET_SPENT_BUDGET, RECORD_OUTCOME, RESERVE_ATTEMPT, UNLOCK, type LuaScript } from './redis-scripts.js';
import { lockOwnerOf, type EntryBudget, type OpenInit, type OpenResult, type ReserveEntryOutcome, type StoreStep, type TransactionStore, type TxKey } from './types.js';

export interface RedisStoreOptions {
  /** Prepended to every key; default `otp:`. Give each deployment (and each test run) its own. */
  prefix?: string;
  /** Transaction ids; random UUIDs unless a test wants them predictable. */
  newId?: () => string;
  /** The time `get` uses when called without `now`. */
  clock?: () => number;
  /** A command with no answer after this long fails with StoreUnavailableError; default 2000, 0 = wait for ever. */
  commandTimeoutMs?: number;
  /** Records remembered per key so a step usually costs one round trip; default 10,000, 0 = none. */
  cacheSize?: number;
}

/** A store that makes (and closes) its own connection from a url. */
export interface RedisUrlStoreOptions extends RedisStoreOptions, RedisConnectionOptions {}

interface Seen {
  readonly tx: TransactionRecord;
  readonly forgetAt: number;
}

const MISSING = { tx: null, outcome: { ok: false, code: 'NOT_FOUND' } } as const;
const ARRAY_FIELDS = ['destinations_used', 'destination_changes', 'codes', 'send_reservations', 'entry_reservations'] as const;
const MAX_CONFLICTS = 1000;

/** Parses a stored record; cjson writes an empty array as `{}`, so the array fields are repaired here. */
export function decodeRecord(json: string): TransactionRecord {
  const r = JSON.parse(json) as Record<string, unknown>;
  for (const f of ARRAY_FIELDS) if (!Array.isArray(r[f])) r[f] = [];
  return r as unknown as TransactionRecord;
}

const stampOf = (tx: TransactionRecord | null): string => (tx === null ? '' : `${tx.id}#${tx.version}`);

export class RedisTransactionStore implements TransactionStore {
  readonly prefix: string;
  /** The connection, for sharing with RedisRateLimits and connect-redis. */
  readonly client: RedisScriptClient;
  private readonly timeoutMs: number;
  private readonly owned: OwnedClient | null;
  private readonly newId: () => string;
  private readonly clock: () => number;
  private readonly cacheSize: number;
  private readonly seen = new Map<string, Seen>();
  private closed = false;

  constructor(client: RedisScriptClient, options?: RedisStoreOptions);
  constructor(options: RedisUrlStoreOptions);
  constructor(clientOrOptions: RedisScriptClient | RedisUrlStoreOptions, maybeOptions: RedisStoreOptions = {}) {
    const fromUrl = ('url' in clientOrOptions && typeof clientOrOptions.url === 'string') || ('topology' in clientOrOptions && clientOrOptions.topology !== undefined);
    const options: RedisStoreOptions = fromUrl ? (clientOrOptions as RedisUrlStoreOptions) : maybeOptions;
    this.prefix = options.prefix ?? 'otp:';
    this.newId = options.newId ?? randomUUID;
    this.clock = options.clock ?? Date.now;
    this.cacheSize = options.cacheSize ?? 10_000;
    this.owned = fromUrl ? new OwnedClient(clientOrOptions as RedisUrlStoreOptions) : null;
    this.client = this.owned?.client ?? (clientOrOptions as RedisScriptClient);
    this.timeoutMs = options.commandTimeoutMs ?? 2000;
  }

  /** Resolves once a store built from a url is connected (at once for a client passed in); see connectRedisStore. */
  async ready(): Promise<void> {
    if (this.owned !== null) await this.owned.connected;
  }

  /** One harmless script on this store's keys: rejects when the server does not take our commands. */
  async probe(): Promise<void> {
    await this.run(PING, [], []);
  }

  async get(key: TxKey, now: number = this.clock()): Promise<TransactionRecord | null> {
    const k = this.txKeyOf(key);
    const [stamp, f, rec] = (await this.run(READ_TX, [k], [])) as [string | null, string | null, string | null];
    if (stamp === null || f === null || rec === null || Number(f) <= now) return null;
    const tx = decodeRecord(rec);
    this.remember(k, tx, Number(f));
    return tx;
  }

  async open(key: TxKey, init: OpenInit, policy: OtpPolicy, now: number): Promise<OpenResult> {
    // A choice's new record starts with its login's wrong entries so far: a snapshot for what the user is shown;
    // the entry scripts check the budget itself, so one read ahead of the CAS is enough.
    const spent = key.group !== undefined ? await this.sharedWrong(key) : 0;
    const reset = spent >= maxEntries(policy);
    const group = key.group === undefined ? {} : { budget_group: key.group, group_wrong_entries: reset ? 0 : spent };
    const opened = await this.decide<OpenResult>(key, now, true, (existing, lock) => {
      const action = startAction(existing, policy, now, lock);
      if (action.action === 'locked') {
        if (lock === null) throw new Error('unreachable: locked without a lock');
        return { write: null, result: { ok: false, code: 'LOCKED', retry_after: action.retry_after, lock } };
      }
      if (action.action !== 'start') {
        if (existing === null) throw new Error('unreachable: nothing to show');
        return { write: null, result: { ok: true, tx: existing, created: false, action } };
      }
      const tx = openTransaction(
        { ...init, id: this.newId(), authenticator_id: key.authenticatorId, subject: key.subject, session_id: key.sessionId, ...group },
        now,
      );
      return { write: tx, result: { ok: true, tx, created: true, action } };
    }, policy);
    // sharedOnOpen: the lockout of a spent budget has ended (or was lifted), and a new transaction starts afresh.
    if (reset && opened.ok && opened.created) await this.run(RESET_SPENT_BUDGET, [this.budgetKeyOf(key)], [String(maxEntries(policy))]);
    return opened;
  }

  async claimSwitch(key: TxKey, max: number, _now: number): Promise<boolean> {
    return (await this.run(CLAIM_SWITCH, [this.budgetKeyOf(key)], [String(max)])) === 1;
  }

  async reserveSend(
    key: TxKey,
    policy: OtpPolicy,
    now: number,
    kind: SendKind,
    destination?: TxDestination,
  ): Promise<StoreStep<ReserveSendOutcome>> {
    return this.step(key, policy, now, (tx) => reserveSend(tx, policy, now, kind, destination));
  }

  async commitSend(key: TxKey, policy: OtpPolicy, reservationId: string, code: SentCode): Promise<StoreStep<CommitSendOutcome>> {
    return this.step(key, policy, code.sent_at, (tx) => commitSend(tx, policy, reservationId, code));
  }

  async releaseSend(
    key: TxKey,
    policy: OtpPolicy,
    reservationId: string,
    now: number,
    failure?: SendFailure,
  ): Promise<StoreStep<ReleaseSendOutcome>> {
    return this.step(key, policy, now, (tx) => releaseSend(tx, reservationId, now, failure));
  }

  async cancel(key: TxKey, policy: OtpPolicy, now: number): Promise<StoreStep<CancelOutcome>> {
    return this.step(key, policy, now, (tx) => cancel(tx, now));
  }

  async reserveAttempt(key: TxKey, policy: OtpPolicy, now: number): Promise<StoreStep<ReserveAttemptOutcome>> {
    const k = this.txKeyOf(key);
    const keys = [k];
    const budget = this.budgetIndex(key, keys);
    const reply = await this.run(RESERVE_ATTEMPT, keys, [String(now), String(maxEntries(policy)), String(policy.ttl_seconds * 1000), '', '', '', budget]);
    return this.settle(k, policy, reply) as StoreStep<ReserveAttemptOutcome>;
  }

  /**
   * `reserveAttempt` with the checks a `start` makes before it, in SPEC section 3's order, in the same one round
   * trip: the subject's lockout (LOCKED), entries_per_transaction_per_minute and failures_per_subject_per_hour
   * (RATE_LIMITED, nothing taken); the entry point is taken whenever the limits pass, the failure point only when
   * the attempt is reserved. Pair it with `recordEntry`, which gives the failure point back unless the entry was a
   * counted wrong one. The failure counter is the key RedisRateLimits uses for that limit; the entry counter lives
   * in the transaction's own hash (it is per transaction, and dies with it).
   */
  async reserveEntry(key: TxKey, policy: OtpPolicy, now: number, budget: EntryBudget): Promise<StoreStep<ReserveEntryOutcome>> {
    const k = this.txKeyOf(key);
    const keys = [k, this.lockKeyOf(key), failuresKey(this.prefix, lockOwnerOf(key), key.subject)];
    const shared = this.budgetIndex(key, keys);
    const reply = await this.run(RESERVE_ATTEMPT, keys, [
      String(now),
      String(maxEntries(policy)),
      String(policy.ttl_seconds * 1000),
      String(budget.entries_per_transaction_per_minute ?? 0),
      String(budget.failures_per_subject_per_hour ?? 0),
      String(LIMIT_WINDOWS.failures_per_subject_per_hour),
      shared,
    ]);
    return this.settle(k, policy, reply) as StoreStep<ReserveEntryOutcome>;
  }

  async recordOutcome(
    key: TxKey,
    policy: OtpPolicy,
    reservationId: string,
    verdict: EntryVerdict,
    now: number,
  ): Promise<StoreStep<RecordOutcome>> {
    return this.record(key, policy, reservationId, verdict, now, false);
  }

  /** `recordOutcome` after `reserveEntry`: also gives the subject's failure point back unless the entry counted. */
  async recordEntry(
    key: TxKey,
    policy: OtpPolicy,
    reservationId: string,
    verdict: EntryVerdict,
    now: number,
    budget: EntryBudget,
  ): Promise<StoreStep<RecordOutcome>> {
    return this.record(key, policy, reservationId, verdict, now, budget.failures_per_subject_per_hour !== null);
  }

  async getLock(authenticatorId: string, subject: string, now: number): Promise<Lockout | null> {
    const raw = (await this.run(READ_LOCK, [lockKey(this.prefix, authenticatorId, subject)], [])) as string | null;
    if (raw === null) return null;
    const lock = JSON.parse(raw) as Lockout;
    return isLocked(lock, now) ? lock : null;
  }

  async unlock(authenticatorId: string, subject: string): Promise<boolean> {
    return (await this.run(UNLOCK, [lockKey(this.prefix, authenticatorId, subject)], [])) === 1;
  }

  async claimTotpStep(secretHash: string, step: number, forgetAt: number): Promise<boolean> {
    return (await this.run(CLAIM_TOTP_STEP, [totpStepKey(this.prefix, secretHash)], [String(step), String(Math.ceil(forgetAt))])) === 1;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.run(PING, [], [])) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.seen.clear();
    if (this.owned !== null) await this.owned.close();
  }

  private record(
    key: TxKey,
    policy: OtpPolicy,
    reservationId: string,
    verdict: EntryVerdict,
    now: number,
    refund: boolean,
  ): Promise<StoreStep<RecordOutcome>> {
    const k = this.txKeyOf(key);
    const keys = [k, this.lockKeyOf(key), failuresKey(this.prefix, lockOwnerOf(key), key.subject)];
    const shared = this.budgetIndex(key, keys);
    return this.run(RECORD_OUTCOME, keys, [
      reservationId,
      verdict.matchedCodeId ?? '',
      verdict.accepted === true ? '1' : '0',
      String(now),
      String(maxEntries(policy)),
      String(policy.ttl_seconds * 1000),
      String(policy.lockout_seconds * 1000),
      refund ? '1' : '0',
      shared,
    ]).then((reply) => this.settle(k, policy, reply) as StoreStep<RecordOutcome>);
  }

  /** Turns a hot-path script's answer into a StoreStep, remembering the record. */
  private settle(k: string, policy: OtpPolicy, reply: unknown): StoreStep<unknown> {
    const [rec, outcome] = reply as [string, string];
    if (rec === '') {
      this.seen.delete(k);
      return MISSING;
    }
    const tx = decodeRecord(rec);
    this.remember(k, tx, forgetAt(tx, policy));
    const parsed = JSON.parse(outcome) as { live_codes?: unknown };
    if ('live_codes' in parsed && !Array.isArray(parsed.live_codes)) parsed.live_codes = [];
    return { tx, outcome: parsed };
  }

  /** A send, cancel: the pure transition decides, one compare-and-set writes. */
  private step<O>(key: TxKey, policy: OtpPolicy, now: number, apply: (tx: TransactionRecord) => Transition<O>): Promise<StoreStep<O>> {
    return this.decide<StoreStep<O>>(key, now, false, (tx) => {
      if (tx === null) return { write: null, result: MISSING };
      const next = apply(tx);
      return { write: next.tx !== tx ? next.tx : null, result: next };
    }, policy);
  }

  /**
   * Optimistic: decide on the record last seen (none when unknown), then CAS. On a conflict the script answers the
   * current record (and lockout), and the step is decided again on it. A refusal is checked the same way (a CAS that
   * writes nothing), so no answer is ever given on a stale record.
   */
  private async decide<R>(
    key: TxKey,
    now: number,
    withLock: boolean,
    choose: (tx: TransactionRecord | null, lock: Lockout | null) => { write: TransactionRecord | null; result: R },
    policy: OtpPolicy,
  ): Promise<R> {
    const k = this.txKeyOf(key);
    const keys = withLock ? [k, this.lockKeyOf(key)] : [k];
    const held = this.seen.get(k);
    let current: TransactionRecord | null = held !== undefined && held.forgetAt > now ? held.tx : null;
    let lock: Lockout | null = null;
    for (let round = 0; round < MAX_CONFLICTS; round += 1) {
      const { write, result } = choose(current, lock);
      const at = write === null ? 0 : forgetAt(write, policy);
      const reply = (await this.run(CAS, keys, [
        stampOf(current),
        String(now),
        write === null ? '' : stampOf(write),
        write === null ? '' : JSON.stringify(write),
        String(at),
        String(lock?.until ?? 0),
        write !== null && write.id !== current?.id ? '1' : '0',
      ])) as string[];
      if (reply[0] === 'OK') {
        if (write !== null) this.remember(k, write, at);
        else if (current !== null && held?.tx !== current) this.remember(k, current, forgetAt(current, policy));
        else if (current === null) this.seen.delete(k);
        return result;
      }
      const [, rec = '', f = '', lockRaw = ''] = reply;
      current = rec === '' ? null : decodeRecord(rec);
      if (current !== null) this.remember(k, current, Number(f));
      else this.seen.delete(k);
      lock = lockRaw === '' ? null : (JSON.parse(lockRaw) as Lockout);
    }
    throw new Error(`RedisTransactionStore: ${MAX_CONFLICTS} conflicting writes in a row on one transaction`);
  }

  private remember(k: string, tx: TransactionRecord, at: number): void {
    if (this.cacheSize <= 0) return;
    this.seen.delete(k);
    this.seen.set(k, { tx, forgetAt: at });
    if (this.seen.size > this.cacheSize) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }

  private txKeyOf(key: TxKey): string {
    return txKey(this.prefix, key.authenticatorId, key.subject, key.sessionId, key.group);
  }

  private lockKeyOf(key: TxKey): string {
    return lockKey(this.prefix, lockOwnerOf(key), key.subject);
  }

  /** Appends a choice's shared budget key to `keys` and answers its 1-based index for the script ('0': no group). */
  private budgetIndex(key: TxKey, keys: string[]): string {
    if (key.group === undefined) return '0';
    keys.push(this.budgetKeyOf(key));
    return String(keys.length);
  }

  private async sharedWrong(key: TxKey): Promise<number> {
    if (key.group === undefined) return 0;
    const [w] = (await this.run(READ_BUDGET, [this.budgetKeyOf(key)], [])) as [string | null];
    return Number(w ?? 0);
  }

  /** A choice's key has its selector as `group`; a key without one has no shared budget (claimSwitch counts under its id). */
  private budgetKeyOf(key: TxKey): string {
    return sharedBudgetKey(this.prefix, key.group ?? key.authenticatorId, key.subject, key.sessionId);
  }

  /** One round trip: EVALSHA, or EVAL when the server lost its script cache (a restart, SCRIPT FLUSH). */
  private async run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    if (this.closed) throw new Error('RedisTransactionStore: closed');
    if (!isUp(this.client)) throw new StoreUnavailableError('Redis is not connected');
    const options = { keys, arguments: args };
    try {
      try {
        return await failAfter(this.client.evalSha(script.sha1, options), this.timeoutMs);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return await failAfter(this.client.eval(script.source, options), this.timeoutMs);
      }
    } catch (error) {
      throw storeErrorFromRedis(error);
    }
  }
}

function isUp(client: RedisScriptClient): boolean {
  return client.isReady ?? client.isOpen;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * The store for a server's start-up: connects to `url` and fails with a clear error (naming the url, without its
 * password) when Redis does not answer within `connectTimeoutMs` (default 2000), instead of starting a process
 * that can only answer 503. Once connected, a lost connection is retried with backoff for as long as it takes.
 */
export async function connectRedisStore(
  where: string | Pick<RedisConnectionOptions, 'url' | 'topology' | 'credentials'>,
  prefix = 'otp:',
  options: Omit<RedisUrlStoreOptions, 'url' | 'topology' | 'credentials' | 'prefix' | 'failFast'> = {},
): Promise<RedisTransactionStore> {
  const connection = typeof where === 'string' ? { url: where } : where;
  const store = new RedisTransactionStore({ ...options, ...connection, prefix, failFast: true });
  try {
    await store.ready();
    // A connection is not yet a server that takes our commands (a password it refuses answers only then).
    await store.probe();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new StoreUnavailableError(`Redis store: cannot connect to ${describeTopology(topologyOf(connection))}: ${(error as Error).message}`, { cause: error });
  }
  return store;
}

