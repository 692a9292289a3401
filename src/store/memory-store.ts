/**
 * The one-process TransactionStore (the default; production refuses it, SPEC section 2). Each operation is one
 * synchronous critical section: read, apply the pure transition, write, with no await in between, so on one
 * event loop nothing interleaves inside a step, exactly what a Lua script gives the Redis store.
 *
 * Expiry costs nothing per request for records nobody touches: a record read past its time is dropped on the
 * spot (lazy), and an unref'd timer sweeps only the due buckets of an ExpiryIndex, never the whole map.
 */
import { newId } from '../otp/ids.js';
import type { OtpPolicy } from '../otp/policy.js';
import { cancel, openTransaction } from '../otp/transaction-open.js';
import { commitSend, releaseSend, reserveSend } from '../otp/transaction-send.js';
import { recordOutcome, reserveAttempt } from '../otp/transaction-entry.js';
import { isLocked, mergeLockouts } from '../otp/transaction-lockout.js';
import { startAction } from '../otp/transaction-start.js';
import { forgetAt } from '../otp/transaction-view.js';
import type { EntryVerdict, Lockout, SendFailure, SendKind, SentCode, Transition, TransactionRecord, TxDestination } from '../otp/transaction-types.js';
import { ExpiryIndex } from './expiry-index.js';
import type { OpenInit, OpenResult, StoreStep, TransactionStore, TxKey } from './types.js';

export interface MemoryStoreOptions {
  /** How often the sweep runs and how wide an expiry bucket is; 0 runs no timer (call `sweep` yourself). */
  sweepIntervalMs?: number;
  /** The time the timer-driven sweep and a `get` without `now` use. */
  clock?: () => number;
  /** Transaction ids; random UUIDs unless a test wants them predictable. */
  newId?: () => string;
}

/** Work counters, so tests can show what a request costs without timing it. */
export interface MemoryStoreStats {
  /** Records looked at: one per operation, plus one per key a sweep found due. */
  examined: number;
  sweeps: number;
  forgotten: number;
}

interface Held {
  tx: TransactionRecord;
  forgetAt: number;
}

const MISSING = { ok: false, code: 'NOT_FOUND' } as const;
const txKeyOf = (k: TxKey): string => `t${JSON.stringify([k.authenticatorId, k.subject, k.sessionId])}`;
const lockKeyOf = (authenticatorId: string, subject: string): string => `l${JSON.stringify([authenticatorId, subject])}`;

export class MemoryTransactionStore implements TransactionStore {
  private readonly txs = new Map<string, Held>();
  private readonly locks = new Map<string, Lockout>();
  private readonly index: ExpiryIndex;
  private readonly clock: () => number;
  private readonly newId: () => string;
  private readonly timer: NodeJS.Timeout | null;
  private readonly counters: MemoryStoreStats = { examined: 0, sweeps: 0, forgotten: 0 };
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const interval = options.sweepIntervalMs ?? 5000;
    this.clock = options.clock ?? Date.now;
    this.newId = options.newId ?? newId;
    this.index = new ExpiryIndex(interval > 0 ? interval : 5000);
    this.timer = interval > 0 ? setInterval(() => this.sweep(this.clock()), interval) : null;
    // A sweep timer must never keep a process alive that has nothing else to do.
    this.timer?.unref();
  }

  async get(key: TxKey, now: number = this.clock()): Promise<TransactionRecord | null> {
    this.assertOpen();
    return this.read(txKeyOf(key), now);
  }

  async open(key: TxKey, init: OpenInit, policy: OtpPolicy, now: number): Promise<OpenResult> {
    this.assertOpen();
    const k = txKeyOf(key);
    const existing = this.read(k, now);
    const lock = this.readLock(lockKeyOf(key.authenticatorId, key.subject), now);
    const action = startAction(existing, policy, now, lock);
    if (action.action === 'locked') {
      if (lock === null) throw new Error('unreachable: locked without a lock');
      return { ok: false, code: 'LOCKED', retry_after: action.retry_after, lock };
    }
    if (action.action !== 'start') {
      if (existing === null) throw new Error('unreachable: nothing to show');
      return { ok: true, tx: existing, created: false, action };
    }
    const tx = openTransaction(
      { ...init, id: this.newId(), authenticator_id: key.authenticatorId, subject: key.subject, session_id: key.sessionId },
      now,
    );
    this.write(k, tx, policy);
    return { ok: true, tx, created: true, action };
  }

  async reserveSend(key: TxKey, policy: OtpPolicy, now: number, kind: SendKind, destination?: TxDestination) {
    return this.step(key, policy, now, (tx) => reserveSend(tx, policy, now, kind, destination));
  }

  async commitSend(key: TxKey, policy: OtpPolicy, reservationId: string, code: SentCode) {
    return this.step(key, policy, code.sent_at, (tx) => commitSend(tx, policy, reservationId, code));
  }

  async releaseSend(key: TxKey, policy: OtpPolicy, reservationId: string, now: number, failure?: SendFailure) {
    return this.step(key, policy, now, (tx) => releaseSend(tx, reservationId, now, failure));
  }

  async reserveAttempt(key: TxKey, policy: OtpPolicy, now: number) {
    return this.step(key, policy, now, (tx) => reserveAttempt(tx, policy, now));
  }

  async recordOutcome(key: TxKey, policy: OtpPolicy, reservationId: string, verdict: EntryVerdict, now: number) {
    const result = this.step(key, policy, now, (tx) => recordOutcome(tx, policy, reservationId, verdict, now));
    const outcome = result.outcome;
    // Same critical section as the abort itself: no entry can slip in between the abort and the lockout.
    if (outcome.code === 'MAX_ATTEMPTS' && outcome.evaluated && outcome.lockout !== null) this.setLock(outcome.lockout, now);
    return result;
  }

  async cancel(key: TxKey, policy: OtpPolicy, now: number) {
    return this.step(key, policy, now, (tx) => cancel(tx, now));
  }

  async getLock(authenticatorId: string, subject: string, now: number): Promise<Lockout | null> {
    this.assertOpen();
    return this.readLock(lockKeyOf(authenticatorId, subject), now);
  }

  async unlock(authenticatorId: string, subject: string): Promise<boolean> {
    this.assertOpen();
    const k = lockKeyOf(authenticatorId, subject);
    this.index.remove(k);
    return this.locks.delete(k);
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
  }

  /** Forgets what is due at `now`; visits only the due buckets. The timer calls it; tests may too. */
  sweep(now: number): number {
    this.counters.sweeps += 1;
    let forgotten = 0;
    for (const k of this.index.dueKeys(now)) {
      this.counters.examined += 1;
      const due = k.startsWith('t') ? this.txs.get(k)?.forgetAt : this.locks.get(k)?.until;
      if (due === undefined || due <= now) {
        this.forget(k);
        forgotten += 1;
      }
    }
    return forgotten;
  }

  /** Transactions held, including any past their time that no sweep or read has dropped yet. */
  size(): number {
    return this.txs.size;
  }

  stats(): Readonly<MemoryStoreStats> {
    return { ...this.counters };
  }

  private step<O>(key: TxKey, policy: OtpPolicy, now: number, apply: (tx: TransactionRecord) => Transition<O>): StoreStep<O> {
    this.assertOpen();
    const k = txKeyOf(key);
    const tx = this.read(k, now);
    if (tx === null) return { tx: null, outcome: MISSING };
    const next = apply(tx);
    if (next.tx !== tx) this.write(k, next.tx, policy);
    return next;
  }

  private read(k: string, now: number): TransactionRecord | null {
    this.counters.examined += 1;
    const held = this.txs.get(k);
    if (held === undefined) return null;
    if (held.forgetAt <= now) {
      this.forget(k);
      return null;
    }
    return held.tx;
  }

  private write(k: string, tx: TransactionRecord, policy: OtpPolicy): void {
    const at = forgetAt(tx, policy);
    this.txs.set(k, { tx, forgetAt: at });
    this.index.schedule(k, at);
  }

  private readLock(k: string, now: number): Lockout | null {
    const lock = this.locks.get(k);
    if (lock === undefined) return null;
    if (isLocked(lock, now)) return lock;
    this.forget(k);
    return null;
  }

  private setLock(lock: Lockout, now: number): void {
    const k = lockKeyOf(lock.authenticator_id, lock.subject);
    const merged = mergeLockouts(this.readLock(k, now), lock);
    this.locks.set(k, merged);
    this.index.schedule(k, merged.until);
  }

  private forget(k: string): void {
    this.index.remove(k);
    const had = k.startsWith('t') ? this.txs.delete(k) : this.locks.delete(k);
    if (had) this.counters.forgotten += 1;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('MemoryTransactionStore: closed');
  }
}

