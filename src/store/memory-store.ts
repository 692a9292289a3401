/**
 * The one-process TransactionStore (the default; production refuses it, SPEC section 2). Each operation is one
 * synchronous critical section: read, apply the pure transition, write, with no await in between, so on one
 * event loop nothing interleaves inside a step, exactly what a Lua script gives the Redis store.
 *
 * Expiry costs nothing per request for records nobody touches: a record read past its time is dropped on the
 * spot (lazy), and an unref'd timer sweeps only the due buckets of an ExpiryIndex, never the whole map.
 * How records are held, compactly and without a key string per transaction: src/store/memory-table.ts.
 */
import {
  flatString, newId, cancel, openTransaction, commitSend, releaseSend, reserveSend, recordOutcome, reserveAttempt,
  isLocked, mergeLockouts, startAction, forgetAt, sharedAfterRecord, sharedAfterReserve, sharedOnOpen, type OtpPolicy, type SharedBudget, type EntryVerdict, type Lockout, type SendFailure,
  type SendKind, type SentCode, type Transition, type TransactionRecord, type TxDestination,
} from '../transaction/index.js';
import { ExpiryIndex } from './expiry-index.js';
import { HeldBudget, HeldLock, HeldTx, TxTable } from './memory-table.js';
import { UsedTotpSteps } from '../codes/used-totp-steps.js';
import { SHARED_BUDGET_TTL_MS, lockOwnerOf, type OpenInit, type OpenResult, type StoreStep, type TransactionStore, type TxKey } from './types.js';

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

const MISSING = { ok: false, code: 'NOT_FOUND' } as const;
const lockKeyOf = (authenticatorId: string, subject: string): string => JSON.stringify([authenticatorId, subject]);
const budgetKeyOf = (key: TxKey): string => JSON.stringify([key.sessionId, key.group, key.subject]);
const NOTHING_USED: SharedBudget = { wrong: 0, in_flight: 0 };

export class MemoryTransactionStore implements TransactionStore {
  private readonly txs = new TxTable();
  private readonly locks = new Map<string, HeldLock>();
  private readonly budgets = new Map<string, HeldBudget>();
  private readonly totpSteps = new UsedTotpSteps();
  private readonly index: ExpiryIndex<HeldTx | HeldLock | HeldBudget>;
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
    return this.read(key, now)?.tx ?? null;
  }

  async open(key: TxKey, init: OpenInit, policy: OtpPolicy, now: number): Promise<OpenResult> {
    this.assertOpen();
    const held = this.read(key, now);
    const existing = held?.tx ?? null;
    const lock = this.readLock(lockKeyOf(lockOwnerOf(key), key.subject), now);
    const action = startAction(existing, policy, now, lock);
    if (action.action === 'locked') {
      if (lock === null) throw new Error('unreachable: locked without a lock');
      return { ok: false, code: 'LOCKED', retry_after: action.retry_after, lock };
    }
    if (action.action !== 'start') {
      if (existing === null) throw new Error('unreachable: nothing to show');
      return { ok: true, tx: existing, created: false, action };
    }
    // The strings of the key are kept as long as the transaction: a replacement reuses the ones already held, a
    // new transaction keeps the caller's, flattened (a subject built by concatenation would stay a rope).
    const names = existing ?? { authenticator_id: key.authenticatorId, subject: flatString(key.subject), session_id: flatString(key.sessionId) };
    let group = {};
    if (key.group !== undefined) {
      const before = this.readBudget(key, now);
      const start = sharedOnOpen(before, policy);
      if (start !== before) this.writeBudget(key, start, now);
      group = { budget_group: key.group, group_wrong_entries: start.wrong };
    }
    const tx = openTransaction(
      { ...init, id: this.newId(), authenticator_id: names.authenticator_id, subject: names.subject, session_id: names.session_id, ...group },
      now,
    );
    this.write(held, tx, policy);
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
    if (key.group === undefined) return this.step(key, policy, now, (tx) => reserveAttempt(tx, policy, now));
    const shared = this.readBudget(key, now);
    let before: TransactionRecord | null = null;
    const result = this.step(key, policy, now, (tx) => { before = tx; return reserveAttempt(tx, policy, now, shared); });
    if (before !== null && result.tx !== null && result.outcome.ok) this.writeBudget(key, sharedAfterReserve(shared, before, result.outcome, now), now);
    return result;
  }

  async recordOutcome(key: TxKey, policy: OtpPolicy, reservationId: string, verdict: EntryVerdict, now: number) {
    const shared = key.group === undefined ? undefined : this.readBudget(key, now);
    let before: TransactionRecord | null = null;
    const result = this.step(key, policy, now, (tx) => { before = tx; return recordOutcome(tx, policy, reservationId, verdict, now, shared); });
    const outcome = result.outcome;
    if (shared !== undefined) this.writeBudget(key, sharedAfterRecord(shared, before, result.tx === null ? null : result.outcome, now), now);
    // Same critical section as the abort itself: no entry can slip in between the abort and the lockout.
    if (outcome.code === 'MAX_ATTEMPTS' && outcome.evaluated && outcome.lockout !== null) this.setLock(outcome.lockout, now);
    return result;
  }

  async cancel(key: TxKey, policy: OtpPolicy, now: number) {
    return this.step(key, policy, now, (tx) => cancel(tx, now));
  }

  async claimSwitch(key: TxKey, max: number, now: number): Promise<boolean> {
    this.assertOpen();
    const shared = this.readBudget(key, now);
    const held = this.budgets.get(budgetKeyOf(key));
    if (held !== undefined && held.switches >= max) return false;
    this.writeBudget(key, shared, now);
    this.budgets.get(budgetKeyOf(key))!.switches += 1;
    return true;
  }

  async getLock(authenticatorId: string, subject: string, now: number): Promise<Lockout | null> {
    this.assertOpen();
    return this.readLock(lockKeyOf(authenticatorId, subject), now);
  }

  async unlock(authenticatorId: string, subject: string): Promise<boolean> {
    this.assertOpen();
    const k = lockKeyOf(authenticatorId, subject);
    const held = this.locks.get(k);
    if (held === undefined) return false;
    this.index.remove(held);
    return this.locks.delete(k);
  }

  async claimTotpStep(secretHash: string, step: number, forgetAt: number): Promise<boolean> {
    this.assertOpen();
    return this.totpSteps.claim(secretHash, step, forgetAt, this.clock());
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
  }

  /** A login's shared budget (a key with a `group`); nothing used when none is held or it has run out. */
  private readBudget(key: TxKey, now: number): SharedBudget {
    const held = this.budgets.get(budgetKeyOf(key));
    if (held === undefined) return NOTHING_USED;
    if (held.until <= now) {
      this.forget(held);
      return NOTHING_USED;
    }
    return held.shared;
  }

  private writeBudget(key: TxKey, shared: SharedBudget, now: number): void {
    const k = budgetKeyOf(key);
    let held = this.budgets.get(k);
    if (held === undefined) {
      held = new HeldBudget(k, shared, now + SHARED_BUDGET_TTL_MS);
      this.budgets.set(k, held);
    } else {
      held.shared = shared;
      held.until = now + SHARED_BUDGET_TTL_MS;
    }
    this.index.schedule(held, held.until);
  }

  /** Forgets what is due at `now`; visits only the due buckets. The timer calls it; tests may too. */
  sweep(now: number): number {
    this.counters.sweeps += 1;
    let forgotten = 0;
    for (const held of this.index.dueKeys(now)) {
      this.counters.examined += 1;
      const due = held instanceof HeldTx ? held.forgetAt : held instanceof HeldBudget ? held.until : held.lock.until;
      if (due <= now) {
        this.forget(held);
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
    const held = this.read(key, now);
    if (held === null) return { tx: null, outcome: MISSING };
    const next = apply(held.tx);
    if (next.tx !== held.tx) this.write(held, next.tx, policy);
    return next;
  }

  private read(key: TxKey, now: number): HeldTx | null {
    this.counters.examined += 1;
    const held = this.txs.get(key);
    if (held === undefined) return null;
    if (held.forgetAt <= now) {
      this.forget(held);
      return null;
    }
    return held;
  }

  /** Stores `tx` in place of `held`'s record (same key), or as a new transaction when `held` is null. */
  private write(held: HeldTx | null, tx: TransactionRecord, policy: OtpPolicy): void {
    const at = forgetAt(tx, policy);
    let into = held;
    if (into === null) {
      into = new HeldTx(tx, at);
      this.txs.add(into);
    } else {
      into.tx = tx;
      into.forgetAt = at;
    }
    this.index.schedule(into, at);
  }

  private readLock(k: string, now: number): Lockout | null {
    const held = this.locks.get(k);
    if (held === undefined) return null;
    if (isLocked(held.lock, now)) return held.lock;
    this.forget(held);
    return null;
  }

  private setLock(lock: Lockout, now: number): void {
    const k = lockKeyOf(lock.authenticator_id, lock.subject);
    const merged = mergeLockouts(this.readLock(k, now), lock);
    let held = this.locks.get(k);
    if (held === undefined) {
      held = new HeldLock(k, merged);
      this.locks.set(k, held);
    } else {
      held.lock = merged;
    }
    this.index.schedule(held, merged.until);
  }

  private forget(held: HeldTx | HeldLock | HeldBudget): void {
    this.index.remove(held);
    const had = held instanceof HeldTx ? this.txs.delete(held)
      : held instanceof HeldBudget ? this.budgets.get(held.key) === held && this.budgets.delete(held.key)
      : this.locks.get(held.key) === held && this.locks.delete(held.key);
    if (had) this.counters.forgotten += 1;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('MemoryTransactionStore: closed');
  }
}

