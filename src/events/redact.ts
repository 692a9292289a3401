import { maskDestination, maskEmail, maskPhone } from '../transaction/index.js';

/**
 * The operational log carries messages this package does not write itself: a library's error text, a custom
 * valve's exception. Those may quote what they were handling, so every operational line passes through here
 * (src/events/logger.ts) before it is written; a pipe also names the secrets its flow held (src/pipes/pipe.ts).
 */

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
/** `+` and 7 to 15 digits, spaces, hyphens or parentheses between them: an international number, as written. */
const INTERNATIONAL = /\+\d[\d ()-]{5,22}\d/g;
/** 9 to 15 digits in a row: a number without its `+` (`46701234567`, `0701234567`). Ports, codes and years are shorter. */
const DIGIT_RUN = /(?<![\d.])\d{9,15}(?![\d.])/g;

/** Masks what looks like an e-mail address or a phone number (the forms the events use: `+46 70*** **67`). */
export function redactDestinations(text: string): string {
  return text
    .replace(EMAIL, (address) => maskEmail(address))
    .replace(INTERNATIONAL, (number) => {
      const digits = number.replace(/\D/g, '');
      return digits.length >= 7 && digits.length <= 15 ? maskPhone(`+${digits}`) : number;
    })
    .replace(DIGIT_RUN, (digits) => `${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`);
}

/**
 * Replaces each secret (a code, a destination as entered or normalised) wherever it occurs in `text`: exact values
 * the caller knows, which no pattern could tell from other text (a six-digit code looks like any number).
 * Destinations keep their masked form; anything else becomes `[redacted]`.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...new Set(secrets)].sort((a, b) => b.length - a.length)) {
    if (secret.length < 4) continue;
    const replacement = secret.includes('@') || /^\+\d{7,15}$/.test(secret) ? maskDestination(secret) : '[redacted]';
    out = out.split(secret).join(replacement);
  }
  return out;
}
