/**
 * The enrolled TOTP secret of a subject, sealed on the way into the CredentialStore and opened on the way out,
 * so the store (and a dump of it) only ever holds ciphertext bound to the subject.
 */
import type { SecretBox } from '../codes/secret-box.js';
import { generateRecoveryCodes, normaliseRecoveryCode, recoveryHash, RECOVERY_CODE_LENGTH } from '../codes/recovery-codes.js';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { CredentialStore, TotpCredential, TrustedDevice } from './credential-store.js';

export interface TotpParameters {
  algorithm: TotpCredential['algorithm'];
  digits: TotpCredential['digits'];
  period: number;
}

export interface EnrolledTotp extends TotpParameters {
  secret: string;
}

export interface Credentials {
  readonly store: CredentialStore;
  /**
   * The subject's enrolled secret in clear; null when none is enrolled; `unusable` when one is but does not open
   * (sealed under a key no longer listed, or changed): the caller must fail closed, never fall back.
   */
  totp(subject: string): Promise<EnrolledTotp | null | 'unusable'>;
  enrolTotp(subject: string, secret: string, parameters: TotpParameters, now: number): Promise<void>;
  usedTotp(subject: string, now: number): Promise<void>;
  /** Seals a pending secret for the session (the enrolment step keeps it there until it is confirmed). */
  sealPending(subject: string, secret: string): string;
  openPending(subject: string, sealed: string): string | null;
  /** A new set of recovery codes, replacing the old one at once; the clear codes are answered once, never kept. */
  newRecoveryCodes(subject: string, now: number): Promise<string[]>;
  recoveryCodesLeft(subject: string): Promise<number>;
  /** Redeems one code as entered (single use, atomic). */
  redeemRecoveryCode(subject: string, entered: unknown): Promise<{ redeemed: boolean; left: number }>;
  /** Trusts this browser for `days`: answers the cookie's token (256 random bits), kept only as a keyed hash. */
  trustDevice(subject: string, userAgent: string, days: number, now: number): Promise<string>;
  /** The id of the subject's live device whose token this is, or null (another subject's, expired, revoked, forged). */
  trustedDevice(subject: string, token: string, now: number): Promise<string | null>;
  devices(subject: string): Promise<TrustedDevice[]>;
  revokeDevices(subject: string, which: string): Promise<number>;
}

/** What a device list shows of a browser: the first product tokens of its User-Agent, never more than 60 characters. */
function userAgentSummary(ua: string): string {
  return ua.replace(/[^\x20-\x7E]/g, '').slice(0, 60);
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const context = (subject: string, what: string) => `${what}\0${subject}`;

function deviceHash(key: string, subject: string, token: string): string {
  return createHmac('sha256', key).update(`device\0${subject.length}:${subject}\0${token}`).digest('base64url');
}

export function createCredentials(store: CredentialStore, box: SecretBox, keys: readonly string[]): Credentials {
  return {
    async newRecoveryCodes(subject, now) {
      const codes = generateRecoveryCodes();
      await store.revokeDevices(subject, 'all');
      await store.putRecoveryCodes(subject, { hashes: codes.map((c) => recoveryHash(keys[0]!, subject, c)), created_at: now });
      return codes;
    },
    recoveryCodesLeft: (subject) => store.recoveryCodesLeft(subject),
    async trustDevice(subject, userAgent, days, now) {
      const token = randomBytes(32).toString('base64url');
      await store.putDevice(subject, {
        id: randomUUID().slice(0, 8), token_hash: deviceHash(keys[0]!, subject, token), created_at: now, last_used_at: null,
        expires_at: now + days * 86_400_000, user_agent: userAgentSummary(userAgent),
      });
      return token;
    },
    async trustedDevice(subject, token, now) {
      if (!TOKEN.test(token)) return null;
      const candidates = keys.map((k) => Buffer.from(deviceHash(k, subject, token)));
      for (const d of await store.getDevices(subject)) {
        if (d.expires_at <= now) continue;
        const stored = Buffer.from(d.token_hash);
        if (candidates.some((c) => c.length === stored.length && timingSafeEqual(c, stored))) {
          await store.touchDevice(subject, d.id, now);
          return d.id;
        }
      }
      return null;
    },
    devices: (subject) => store.getDevices(subject),
    revokeDevices: (subject, which) => store.revokeDevices(subject, which),
    async redeemRecoveryCode(subject, entered) {
      const code = normaliseRecoveryCode(entered);
      if (code.length !== RECOVERY_CODE_LENGTH) return { redeemed: false, left: await store.recoveryCodesLeft(subject) };
      // Under every listed key: codes made before a rotation of CREDENTIAL_KEY still work.
      return store.redeemRecoveryCode(subject, keys.map((k) => recoveryHash(k, subject, code)));
    },
    store,
    async totp(subject) {
      const held = await store.getTotp(subject);
      if (!held) return null;
      const secret = box.open(held.sealed_secret, context(subject, 'totp'));
      return secret === null ? 'unusable' : { secret, algorithm: held.algorithm, digits: held.digits, period: held.period };
    },
    async enrolTotp(subject, secret, parameters, now) {
      // A new app is a new start: every browser trusted so far must show a code again.
      await store.revokeDevices(subject, 'all');
      await store.putTotp(subject, { sealed_secret: box.seal(secret, context(subject, 'totp')), ...parameters, created_at: now, last_used_at: null });
    },
    async usedTotp(subject, now) {
      const held = await store.getTotp(subject);
      if (!held) return;
      // A rotation of CREDENTIAL_KEY is under way: each secret in use moves to the first key (docs/deployment.md).
      const secret = box.isCurrent(held.sealed_secret) ? null : box.open(held.sealed_secret, context(subject, 'totp'));
      // A compare-and-set: an enrolment made meanwhile is never undone by this write.
      if (secret !== null) await store.resealTotp(subject, held.sealed_secret, box.seal(secret, context(subject, 'totp')), now);
      else await store.touchTotp(subject, now);
    },
    sealPending: (subject, secret) => box.seal(secret, context(subject, 'totp-pending')),
    openPending: (subject, sealed) => box.open(sealed, context(subject, 'totp-pending')),
  };
}
