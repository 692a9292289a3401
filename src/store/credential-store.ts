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

export interface CredentialStore {
  getTotp(subject: string): Promise<TotpCredential | null>;
  /** Sets (or replaces) the subject's TOTP credential in one step. */
  putTotp(subject: string, credential: TotpCredential): Promise<void>;
  /** Records a successful use; nothing when the subject has none. */
  touchTotp(subject: string, at: number): Promise<void>;
  /** True when there was one. */
  removeTotp(subject: string): Promise<boolean>;
  close(): Promise<void>;
}

export class MemoryCredentialStore implements CredentialStore {
  private readonly totp = new Map<string, TotpCredential>();

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

  /** Every value held, as a dump would show it (tests look for clear secrets in it). */
  dump(): string {
    return JSON.stringify([...this.totp.entries()]);
  }

  async close(): Promise<void> {}
}
