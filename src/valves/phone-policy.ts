/**
 * PhonePolicy: refuses destinations that policy does not send codes to, before anything is generated or sent:
 * line types (premium-rate numbers are the classic SMS-pumping target) and countries. A refusal fails the flow
 * with SUPPRESSED SENDING CODE (DESTINATION_NOT_ALLOWED). Runs after PhoneNormalize, which sets the country and
 * the line type; an e-mail destination passes untouched.
 */
import type { Destination, ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';

export const LINE_TYPE_WORDS = ['mobile', 'landline', 'voip', 'toll_free', 'premium_rate', 'shared_cost', 'personal_number', 'pager', 'uan', 'voicemail', 'unknown'] as const;

export interface PhonePolicyConfig {
  do_not_send_to_types?: string[];
  whitelist?: string[];
  blacklist?: string[];
}

/** ISO 3166-1 alpha-2, or "001" for the non-geographic numbers that have no country (satellite, +883). */
const countryList = { type: 'array', items: { type: 'string', pattern: '^([A-Z]{2}|001)$' }, uniqueItems: true };

export const phonePolicySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    do_not_send_to_types: { type: 'array', items: { enum: [...LINE_TYPE_WORDS] }, uniqueItems: true, description: 'Line types refused.' },
    whitelist: { ...countryList, description: 'When set, only these countries (ISO 3166-1 alpha-2) are sent to.' },
    blacklist: { ...countryList, description: 'Countries never sent to.' },
  },
};

/**
 * libphonenumber cannot tell a mobile from a landline in some numbering plans (the US, say): it answers
 * FIXED_LINE_OR_MOBILE. Such a number is refused only when both `mobile` and `landline` are refused, since it
 * may be either and refusing it for one of them would refuse every number of those countries.
 */
function refusedType(lineType: string | undefined, refused: ReadonlySet<string>): boolean {
  const type = lineType ?? 'unknown';
  if (type === 'fixed_line_or_mobile') return refused.has('mobile') && refused.has('landline');
  return refused.has(type);
}

export interface PhoneRules { do_not_send_to_types?: readonly string[] | undefined; whitelist?: readonly string[] | undefined; blacklist?: readonly string[] | undefined }

/**
 * Why these rules refuse a phone destination, or null when they let it through: the valve's check, and the one a
 * verification API request's `options` add on top of the pipe's (they can only refuse more).
 */
export function phoneRefusal(d: Destination, rules: PhoneRules): string | null {
  if (d.kind !== 'phone') return null;
  if (rules.do_not_send_to_types && rules.do_not_send_to_types.length > 0 && refusedType(d.line_type, new Set(rules.do_not_send_to_types))) {
    return `line type ${d.line_type ?? 'unknown'} is refused`;
  }
  const country = d.country ?? '001';
  if (rules.whitelist && !rules.whitelist.includes(country)) return `country ${country} is not on the whitelist`;
  if (rules.blacklist?.includes(country)) return `country ${country} is on the blacklist`;
  return null;
}

export const phonePolicy: ValveFactory<PhonePolicyConfig> = (config) => ({
  run(ctx) {
    const d = ctx.state.destination;
    if (!d) return failFlow(FlowReason.VALVE_ERROR, 'PhonePolicy runs after PhoneNormalize');
    const refusal = phoneRefusal(d, config);
    return refusal ? failFlow(FlowReason.SUPPRESSED_SENDING_CODE, refusal) : undefined;
  },
});
