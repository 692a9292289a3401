/**
 * What the memory store holds, shaped for a store that holds pending transactions by the hundred thousand
 * (bench/growth.ts counts every byte kept per transaction; bench/README.md, F3):
 *
 * - one mutable `HeldTx` per transaction, which is at once the table's value and the expiry index's entry, so a
 *   step updates it in place instead of allocating a wrapper, and the index needs no key -> bucket map;
 * - the table is keyed by the session id string the record itself holds: no key string is built per transaction
 *   (a JSON key repeated the subject and session id, ~80 B, and was rebuilt and hashed on every operation).
 *   Almost every session holds one transaction; the rare session holding several (another authenticator or
 *   subject in one chain) gets a small map of its own, keyed by (authenticator, subject).
 */
import type { Lockout, SharedBudget, TransactionRecord } from '../transaction/index.js';
import type { ExpiryEntry } from './expiry-index.js';
import type { TxKey } from './types.js';

/** A transaction as held. `tx` is replaced by each step, always by a record of the same (session, authenticator, subject). */
export class HeldTx implements ExpiryEntry {
  expiryBucket: number | null = null;

  constructor(
    public tx: TransactionRecord,
    /** When the store may forget it: `forgetAt(tx, policy)`, kept because a read has no policy to compute it. */
    public forgetAt: number,
  ) {}
}

/** A lockout as held, with the key it is filed under so a sweep can remove it. */
export class HeldLock implements ExpiryEntry {
  expiryBucket: number | null = null;

  constructor(
    readonly key: string,
    public lock: Lockout,
  ) {}
}

/** A login's budget shared by a Selector's choices, with its key, kept until `until` (an hour after its last change). */
export class HeldBudget implements ExpiryEntry {
  expiryBucket: number | null = null;

  /** Changes of choice counted in this login (claimSwitch). */
  switches = 0;

  constructor(
    readonly key: string,
    public shared: SharedBudget,
    public until: number,
  ) {}
}

const within = (authenticatorId: string, subject: string): string => JSON.stringify([authenticatorId, subject]);

/** Transactions by (session, authenticator, subject). */
export class TxTable {
  private readonly bySession = new Map<string, HeldTx | Map<string, HeldTx>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: TxKey): HeldTx | undefined {
    const slot = this.bySession.get(key.sessionId);
    if (slot === undefined) return undefined;
    if (slot instanceof HeldTx) {
      const { tx } = slot;
      return tx.authenticator_id === key.authenticatorId && tx.subject === key.subject ? slot : undefined;
    }
    return slot.get(within(key.authenticatorId, key.subject));
  }

  /** Adds a transaction that is not held (the caller looked its key up first). */
  add(held: HeldTx): void {
    const { session_id, authenticator_id, subject } = held.tx;
    const slot = this.bySession.get(session_id);
    if (slot === undefined) {
      this.bySession.set(session_id, held);
    } else if (slot instanceof HeldTx) {
      const several = new Map([[within(slot.tx.authenticator_id, slot.tx.subject), slot]]);
      several.set(within(authenticator_id, subject), held);
      this.bySession.set(session_id, several);
    } else {
      slot.set(within(authenticator_id, subject), held);
    }
    this.count += 1;
  }

  /** Removes `held` if it is the one held under its key; true when it was. */
  delete(held: HeldTx): boolean {
    const { session_id, authenticator_id, subject } = held.tx;
    const slot = this.bySession.get(session_id);
    if (slot === held) {
      this.bySession.delete(session_id);
    } else if (slot instanceof Map && slot.get(within(authenticator_id, subject)) === held) {
      slot.delete(within(authenticator_id, subject));
      if (slot.size === 0) this.bySession.delete(session_id);
    } else {
      return false;
    }
    this.count -= 1;
    return true;
  }
}
