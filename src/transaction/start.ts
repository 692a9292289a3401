/**
 * What `GET {path}` does, by the transaction found for (session, authenticator, subject): SPEC section 3's table.
 * The store's `open` applies it atomically, so two parallel GETs never start two transactions.
 */
import type { OtpPolicy } from './policy.js';
import type { Lockout, TransactionRecord, ViewState } from './record.js';
import { isLocked, lockRetryAfter } from './lockout.js';
import { viewState } from './view.js';

export type StartAction =
  /** Open a new transaction (replacing `replaces`, when one was found) and send the first code (run the pre-pipe). */
  | { readonly action: 'start'; readonly replaces: ViewState | null }
  /** Show the transaction; never send (a reload costs no SMS). EXPIRED leaves only cancel. */
  | { readonly action: 'show'; readonly state: 'PENDING' | 'EXPIRED' }
  /** 303 to the next location. */
  | { readonly action: 'completed' }
  /** This session's own abort, while its lockout lasts: the failure page, HTTP 200. */
  | { readonly action: 'aborted' }
  /** The subject is locked by an abort that is not this transaction's (another session's, or a forgotten one): 423. */
  | { readonly action: 'locked'; readonly retry_after: number };

/**
 * Decisions the table leaves open, taken here:
 * - CANCELLED starts a new transaction (the table's first row) rather than redirecting again; the redirect to
 *   cancel_location belongs to the answer of the `cancel` request itself.
 * - FAILED (the first send was refused) starts a new transaction, so a reload retries a failed delivery; nothing
 *   reached the user, and the per-destination and per-IP send limits bound the retries.
 * - ABORTED shows its failure while the lockout lasts and starts a new one once it ended (or was lifted, or
 *   lockout_seconds is 0).
 * - A PENDING or EXPIRED transaction while another session's abort locks the subject answers LOCKED: a `start`
 *   checks the lockout before anything else (SPEC section 3), so showing a form that cannot be used would mislead.
 */
export function startAction(
  existing: TransactionRecord | null,
  policy: OtpPolicy,
  now: number,
  lock: Lockout | null,
): StartAction {
  const state = existing === null ? null : viewState(existing, policy, now);
  switch (state) {
    case 'PENDING':
    case 'EXPIRED':
      if (isLocked(lock, now)) return { action: 'locked', retry_after: lockRetryAfter(lock, now) };
      return { action: 'show', state };
    case 'COMPLETED':
      return { action: 'completed' };
    case 'ABORTED':
      if (isLocked(lock, now)) return { action: 'aborted' };
      return { action: 'start', replaces: state };
    default:
      if (isLocked(lock, now)) return { action: 'locked', retry_after: lockRetryAfter(lock, now) };
      return { action: 'start', replaces: state };
  }
}
