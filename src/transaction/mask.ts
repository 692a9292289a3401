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

interface ReportDestinations {
  properties: {
    initial_destination: string | null;
    final_destination: string | null;
    destination_changes: { from: string; to: string; at: string }[];
  };
}

/**
 * The report as it leaves for a browser or a log (the `status` answer, the final event): destinations masked. A host
 * app reads the whole one from `exports.otp_report`; a caller holding only the password must not learn the number.
 */
export function maskReport<R extends ReportDestinations>(report: R): R {
  const p = report.properties;
  const mask = (d: string | null) => (d === null ? null : maskDestination(d));
  return {
    ...report,
    properties: {
      ...p,
      initial_destination: mask(p.initial_destination),
      final_destination: mask(p.final_destination),
      destination_changes: p.destination_changes.map((c) => ({ ...c, from: maskDestination(c.from), to: maskDestination(c.to) })),
    },
  };
}
