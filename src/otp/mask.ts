import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Masked destinations for answers, events and logs: a phone keeps its country code, the next two digits and
 * the last two (`+46 70*** **67`); an e-mail its first character and domain (`c***@example.com`).
 */
export function maskPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const country = parsed?.countryCallingCode ?? '';
  const national = parsed ? String(parsed.nationalNumber) : e164.replace(/\D/g, '');
  if (national.length <= 4) return `+${country} ${'*'.repeat(national.length)}`;
  const hidden = national.length - 4;
  const stars = hidden > 2 ? `${'*'.repeat(hidden - 2)} **` : '*'.repeat(hidden);
  return `+${country} ${national.slice(0, 2)}${stars}${national.slice(-2)}`;
}

export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '***';
  return `${address.slice(0, 1)}***${address.slice(at)}`;
}

export function maskDestination(address: string): string {
  if (address.includes('@')) return maskEmail(address);
  return maskPhone(address);
}
