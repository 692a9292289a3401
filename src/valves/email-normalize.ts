/**
 * EmailNormalize: checks that `state.destination_input` is a deliverable-looking address and puts
 * it in one canonical form (trimmed, domain lower-cased and in ASCII). The local part keeps its
 * case: RFC 5321 lets a server tell `Carol` from `carol`.
 */
import { domainToASCII } from 'node:url';
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';

const MAX_ADDRESS_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;
/** The dot-atom of RFC 5322 without quoted strings or comments, which no sign-up form needs. */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const TOP_LABEL = /^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/** The canonical address, or null when `input` is not one. */
export function normaliseEmail(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > MAX_ADDRESS_LENGTH + 32) return null;
  const text = input.trim();
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return null;
  const local = text.slice(0, at);
  const rawDomain = text.slice(at + 1);
  if (local.length > MAX_LOCAL_LENGTH || !LOCAL_PART.test(local)) return null;
  // domainToASCII lower-cases, applies IDNA (bücher.example -> xn--bcher-kva.example), '' if invalid.
  const domain = domainToASCII(rawDomain.replace(/\.$/, ''));
  if (!domain) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || !TOP_LABEL.test(labels[labels.length - 1] ?? '')) {
    return null;
  }
  const address = `${local}@${domain}`;
  return address.length > MAX_ADDRESS_LENGTH ? null : address;
}

export const emailNormalizeSchema = { type: 'object', additionalProperties: false, properties: {} };

export const emailNormalize: ValveFactory = () => ({
  run(ctx) {
    const address = normaliseEmail(ctx.state.destination_input);
    if (!address) return failFlow(FlowReason.DATA_CHECK_FAILED, 'not a valid e-mail address');
    ctx.state.destination = { kind: 'email', address, channel: 'email' };
    return undefined;
  },
});
