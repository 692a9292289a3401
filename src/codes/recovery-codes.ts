/**
 * Recovery codes (issue 22): ten codes of ten symbols from the 32-symbol alphabet of codes (about 50 bits each),
 * drawn with the CSPRNG, shown once as `XXXXX-XXXXX`, and kept only as keyed hashes bound to the subject.
 */
import { createHmac, randomInt } from 'node:crypto';
import { CODE_ALPHABETS, normaliseEnteredCode } from './code-hash.js';

export const RECOVERY_CODE_COUNT = 10;
export const RECOVERY_CODE_LENGTH = 10;

export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT, length = RECOVERY_CODE_LENGTH): string[] {
  const alphabet = CODE_ALPHABETS.alphanumeric;
  return Array.from({ length: count }, () => Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join(''));
}

/** As shown: two groups of five. */
export function formatRecoveryCode(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** What the user typed, as the codes are made: upper case, separators and spaces dropped, look-alikes read. */
export function normaliseRecoveryCode(input: unknown): string {
  return normaliseEnteredCode(input, 'alphanumeric');
}

/** The keyed hash the store keeps: HMAC-SHA-256 under one key of CREDENTIAL_KEY, bound to the subject. */
export function recoveryHash(key: string, subject: string, code: string): string {
  return createHmac('sha256', key).update(`recovery\0${subject.length}:${subject}\0${code}`).digest('base64url');
}
