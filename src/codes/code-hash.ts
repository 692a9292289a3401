/**
 * Keyed hashes of one-time codes. Only these hashes are stored; the clear code lives in one flow's
 * state, long enough to be delivered. A hash is bound to its transaction, so a code cannot be
 * replayed into another transaction, and is checked under every configured key so that keys can
 * rotate (OTP_SECRET="new,old": the first signs, all verify).
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { flatString, type LiveCode } from '../transaction/index.js';

/** Longer input is not a code; refusing it before any work keeps a pasted novel cheap. */
export const MAX_ENTERED_CODE_LENGTH = 64;

const HASH_PREFIX = 'h1.';
const DIGEST_BYTES = 32;

/** Keys as KeyObjects, made once per key: createHmac would otherwise import the key string on every call. */
const keyObjects = new Map<string, KeyObject>();

function keyObject(key: string): KeyObject {
  let made = keyObjects.get(key);
  if (made === undefined) {
    made = createSecretKey(Buffer.from(key, 'utf8'));
    keyObjects.set(key, made);
  }
  return made;
}

function digest(key: string, transactionId: string, code: string): Buffer {
  // Length-prefixing the transaction id keeps ("ab", "c1") and ("a", "bc1") apart.
  return createHmac('sha256', keyObject(key)).update(`otp:${transactionId.length}:${transactionId}:${code}`, 'utf8').digest();
}

/** Compared against when a stored hash is unreadable, so every comparison does the same work; never written. */
const FILLER = Buffer.alloc(DIGEST_BYTES);

function usableKeys(keys: readonly string[]): string[] {
  const usable = keys.filter((k) => typeof k === 'string' && k.length > 0);
  if (usable.length === 0) throw new Error('no OTP key is configured');
  return usable;
}

/** The stored form of `code` for `transactionId`, signed with the first key. */
export function hashCode(keys: readonly string[], transactionId: string, code: string): string {
  const [signing] = usableKeys(keys);
  if (typeof transactionId !== 'string' || transactionId === '') throw new Error('a code hash needs a transaction id');
  // Flat: the store keeps it with every pending code, and prefix + digest would otherwise stay a rope.
  return flatString(HASH_PREFIX + digest(signing as string, transactionId, code).toString('base64url'));
}

function decode(hash: string): Buffer | null {
  if (typeof hash !== 'string' || !hash.startsWith(HASH_PREFIX)) return null;
  const raw = Buffer.from(hash.slice(HASH_PREFIX.length), 'base64url');
  return raw.length === DIGEST_BYTES ? raw : null;
}

/**
 * The id of the live code that `input` (already normalised) matches, or null. Every live hash is
 * compared under every key, whatever matched first, so the time taken does not tell which key or
 * which code matched.
 */
export function matchCode(
  keys: readonly string[],
  transactionId: string,
  input: string,
  hashes: readonly LiveCode[],
): string | null {
  const usable = usableKeys(keys);
  const valid = typeof input === 'string' && input.length > 0 && input.length <= MAX_ENTERED_CODE_LENGTH;
  const candidates = usable.map((key) => digest(key, String(transactionId), valid ? input : ''));
  let matched: string | null = null;
  for (const live of hashes) {
    const stored = decode(live?.hash);
    for (const candidate of candidates) {
      const equal = timingSafeEqual(candidate, stored ?? FILLER);
      if (equal && stored && valid && matched === null) matched = live.id;
    }
  }
  return matched;
}

export type CodeCharset = 'numeric' | 'alphanumeric';

/** `alphanumeric` leaves out 0/O, 1/I/L so that nothing reads as something else. */
export const CODE_ALPHABETS: Readonly<Record<CodeCharset, string>> = {
  numeric: '0123456789',
  alphanumeric: '23456789ABCDEFGHJKLMNPQRSTUVWXYZ',
};

const PLAIN_CODE = /^[0-9A-Za-z]*$/;
const SEPARATORS = /[\s\p{Zs}\p{Pd}\p{Cf}\u2212]/gu;
const UNICODE_DIGIT = /\p{Nd}/u;

/**
 * What the user typed, as a code can be compared: spaces and dashes (any Unicode kind) and invisible
 * format characters dropped, compatibility forms folded (full-width letters), every Unicode decimal
 * digit folded to ASCII, letters upper-cased. Over-long input becomes "" and never matches.
 */
export function normaliseEnteredCode(input: unknown, charset: CodeCharset = 'numeric'): string {
  if (typeof input !== 'string' || input.length > MAX_ENTERED_CODE_LENGTH) return '';
  // What nearly everyone types, ASCII digits and letters only, is already in its final form (but for case).
  if (PLAIN_CODE.test(input)) return charset === 'alphanumeric' ? input.toUpperCase() : input;
  let text = input.normalize('NFKC');
  if (text.length > MAX_ENTERED_CODE_LENGTH * 4) return '';
  text = text.replace(SEPARATORS, '');
  let out = '';
  for (const ch of text) out += UNICODE_DIGIT.test(ch) ? String(digitValue(ch)) : ch;
  if (charset === 'alphanumeric') out = out.toUpperCase();
  return out.length > MAX_ENTERED_CODE_LENGTH ? '' : out;
}

/**
 * Unicode assigns decimal digits only in contiguous runs of ten, 0 to 9 in order (a stability
 * policy), so a digit's value is its distance from the start of its run, modulo ten.
 */
function digitValue(ch: string): number {
  const cp = ch.codePointAt(0) as number;
  let start = cp;
  while (start > 0 && UNICODE_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}
