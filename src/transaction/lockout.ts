/**
 * A lockout is a plain value the store keeps under (authenticator, subject), apart from any transaction, so an
 * abort in one session refuses a new transaction in every other session of the same subject.
 */
import type { OtpPolicy } from './policy.js';
import type { Lockout, TransactionRecord } from './record.js';
import { secondsUntil } from './view.js';

/** Locked while now < until: at exactly `until` the lockout has ended. */
export function isLocked(lock: Lockout | null | undefined, now: number): lock is Lockout {
  return lock !== null && lock !== undefined && now < lock.until;
}

/** Whole seconds until the lockout ends (Retry-After), at least 1 while locked, 0 when not. */
export function lockRetryAfter(lock: Lockout | null | undefined, now: number): number {
  return isLocked(lock, now) ? Math.max(1, secondsUntil(lock.until, now)) : 0;
}

/**
 * The lockout an abort at `now` sets; null when lockout_seconds is 0 (the operator turned lockouts off). A choice
 * of a Selector locks the whole selector: the lockout is kept under the selector's id.
 */
export function lockoutAfterAbort(tx: TransactionRecord, policy: OtpPolicy, now: number): Lockout | null {
  if (policy.lockout_seconds <= 0) return null;
  return { authenticator_id: lockOwner(tx), subject: tx.subject, until: now + policy.lockout_seconds * 1000 };
}

/** Whose lockout an abort of `tx` sets and its open checks: the selector's for a choice, else its authenticator's. */
export function lockOwner(tx: Pick<TransactionRecord, 'authenticator_id' | 'budget_group'>): string {
  return tx.budget_group ?? tx.authenticator_id;
}

/** Two lockouts of one subject: the later end wins, so a second abort never shortens the first. */
export function mergeLockouts(a: Lockout | null | undefined, b: Lockout): Lockout {
  return a !== null && a !== undefined && a.until > b.until ? a : b;
}
