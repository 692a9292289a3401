/**
 * Where a subject's enrolled second factors live (issue 22): for now the TOTP credential. The store holds what it
 * is given, already sealed (src/store/credentials.ts seals and opens): a dump of it holds no usable secret. Every
 * change is one atomic step. Two implementations, as for transactions: this one in memory (development; production
 * refuses the memory store) and RedisCredentialStore. A host with its own user database implements the interface.
 */
export interface TotpCredential {
  /** The base32 secret sealed with AES-256-GCM (SecretBox), bound to the subject. */
  readonly sealed_secret: string;
  readonly algorithm: 'sha1' | 'sha256' | 'sha512';
  readonly digits: 6 | 8;
  readonly period: number;
  readonly created_at: number;
  readonly last_used_at: number | null;
}

/** A subject's recovery codes, as keyed hashes (src/codes/recovery-codes.ts). */
export interface RecoverySet {
  readonly hashes: readonly string[];
  readonly created_at: number;
}

/** A browser the subject asked not to be asked a code again on ("remember this browser"). */
export interface TrustedDevice {
  readonly id: string;
  /** HMAC-SHA-256 of the cookie's token, bound to the subject: the token itself is never kept. */
  readonly token_hash: string;
  readonly created_at: number;
  readonly last_used_at: number | null;
  readonly expires_at: number;
  /** A short summary of the browser's User-Agent, for the list a user or the help desk reads. */
  readonly user_agent: string;
}

export interface CredentialStore {
  getTotp(subject: string): Promise<TotpCredential | null>;
  /** Sets (or replaces) the subject's TOTP credential in one step. */
  putTotp(subject: string, credential: TotpCredential): Promise<void>;
  /** Records a successful use; nothing when the subject has none. */
  touchTotp(subject: string, at: number): Promise<void>;
  /** True when there was one. */
  removeTotp(subject: string): Promise<boolean>;
  /** Replaces `sealed_secret` (and sets `last_used_at`) only if it is still `from`, in one step; true when it did. */
  resealTotp(subject: string, from: string, to: string, at: number): Promise<boolean>;
  /** Replaces the subject's recovery codes at once: the old set is gone in the same step. */
  putRecoveryCodes(subject: string, set: RecoverySet): Promise<void>;
  /** How many of the subject's recovery codes are left (0 when none was made). */
  recoveryCodesLeft(subject: string): Promise<number>;
  /**
   * Single use, atomic: removes the first of `candidates` (the entry's hash under each listed key) that is in the
   * set; of any number of parallel redemptions of one code, one succeeds. Answers whether one was removed and how
   * many are left.
   */
  redeemRecoveryCode(subject: string, candidates: readonly string[]): Promise<{ redeemed: boolean; left: number }>;
  putDevice(subject: string, device: TrustedDevice): Promise<void>;
  getDevices(subject: string): Promise<TrustedDevice[]>;
  touchDevice(subject: string, id: string, at: number): Promise<void>;
  /** Revokes one device, or `all`; answers how many went. */
  revokeDevices(subject: string, which: string): Promise<number>;
  close(): Promise<void>;
}

export class MemoryCredentialStore implements CredentialStore {
  private readonly totp = new Map<string, TotpCredential>();
  private readonly recovery = new Map<string, Set<string>>();
  private readonly devices = new Map<string, Map<string, TrustedDevice>>();

  async getTotp(subject: string): Promise<TotpCredential | null> {
    return this.totp.get(subject) ?? null;
  }

  async putTotp(subject: string, credential: TotpCredential): Promise<void> {
    this.totp.set(subject, { ...credential });
  }

  async touchTotp(subject: string, at: number): Promise<void> {
    const held = this.totp.get(subject);
    if (held) this.totp.set(subject, { ...held, last_used_at: at });
  }

  async removeTotp(subject: string): Promise<boolean> {
    return this.totp.delete(subject);
  }

  async resealTotp(subject: string, from: string, to: string, at: number): Promise<boolean> {
    const held = this.totp.get(subject);
    if (!held || held.sealed_secret !== from) return false;
    this.totp.set(subject, { ...held, sealed_secret: to, last_used_at: at });
    return true;
  }

  async putRecoveryCodes(subject: string, set: RecoverySet): Promise<void> {
    this.recovery.set(subject, new Set(set.hashes));
  }

  async recoveryCodesLeft(subject: string): Promise<number> {
    return this.recovery.get(subject)?.size ?? 0;
  }

  async redeemRecoveryCode(subject: string, candidates: readonly string[]): Promise<{ redeemed: boolean; left: number }> {
    const set = this.recovery.get(subject);
    if (!set) return { redeemed: false, left: 0 };
    const hit = candidates.find((c) => set.has(c));
    if (hit !== undefined) set.delete(hit);
    return { redeemed: hit !== undefined, left: set.size };
  }

  async putDevice(subject: string, device: TrustedDevice): Promise<void> {
    let held = this.devices.get(subject);
    if (!held) this.devices.set(subject, (held = new Map()));
    held.set(device.id, { ...device });
  }

  async getDevices(subject: string): Promise<TrustedDevice[]> {
    return [...(this.devices.get(subject)?.values() ?? [])].map((d) => ({ ...d }));
  }

  async touchDevice(subject: string, id: string, at: number): Promise<void> {
    const d = this.devices.get(subject)?.get(id);
    if (d) this.devices.get(subject)!.set(id, { ...d, last_used_at: at });
  }

  async revokeDevices(subject: string, which: string): Promise<number> {
    const held = this.devices.get(subject);
    if (!held) return 0;
    if (which === 'all') {
      const n = held.size;
      this.devices.delete(subject);
      return n;
    }
    return held.delete(which) ? 1 : 0;
  }

  /** Every value held, as a dump would show it (tests look for clear secrets in it). */
  dump(): string {
    return JSON.stringify([...this.totp.entries(), ...[...this.recovery.entries()].map(([k, v]) => [k, [...v]]), ...[...this.devices.entries()].map(([k, v]) => [k, [...v.values()]])]);
  }

  async close(): Promise<void> {}
}
