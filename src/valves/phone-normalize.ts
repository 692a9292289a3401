/**
 * PhoneNormalize: turns what was configured or typed (`state.destination_input`) into an E.164
 * destination with its country and line type, using the full ("max") metadata so that line types
 * are known. Anything that is not a valid number fails DATA CHECK FAILED.
 */
import { parsePhoneNumberFromString, type CountryCode, type NumberType } from 'libphonenumber-js/max';
import type { Channel, ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';

/** Longer than any dialable number with its punctuation; longer input is not a number. */
const MAX_INPUT_LENGTH = 64;

/** libphonenumber's types in the words config uses (SPEC section 2). */
const LINE_TYPES: Readonly<Record<NonNullable<NumberType>, string>> = {
  MOBILE: 'mobile',
  FIXED_LINE: 'landline',
  FIXED_LINE_OR_MOBILE: 'fixed_line_or_mobile',
  VOIP: 'voip',
  TOLL_FREE: 'toll_free',
  PREMIUM_RATE: 'premium_rate',
  SHARED_COST: 'shared_cost',
  PERSONAL_NUMBER: 'personal_number',
  PAGER: 'pager',
  UAN: 'uan',
  VOICEMAIL: 'voicemail',
};

export function lineTypeWord(type: NumberType): string {
  return (type && LINE_TYPES[type]) || 'unknown';
}

export interface PhoneNormalizeConfig {
  default_country?: string;
  channel?: Extract<Channel, 'sms' | 'voice'>;
}

export const phoneNormalizeSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    default_country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 for numbers in national format.' },
    channel: { enum: ['sms', 'voice'], description: 'How codes reach this number (default sms).' },
  },
};

export const phoneNormalize: ValveFactory<PhoneNormalizeConfig> = (config) => {
  const configured = config.channel ?? 'sms';
  const defaultCountry = config.default_country as CountryCode | undefined;
  return {
    run(ctx) {
      const input = ctx.state.destination_input;
      if (typeof input !== 'string' || input.trim() === '' || input.length > MAX_INPUT_LENGTH) {
        return failFlow(FlowReason.DATA_CHECK_FAILED, 'no phone number');
      }
      let parsed;
      try {
        parsed = parsePhoneNumberFromString(input, defaultCountry ? { defaultCountry } : {});
      } catch {
        parsed = undefined;
      }
      if (!parsed || !parsed.isValid()) return failFlow(FlowReason.DATA_CHECK_FAILED, 'not a valid phone number');
      // The verification API's caller may ask for a call or an SMS; the pipe's own channel otherwise.
      const asked = ctx.exports['requested_channel'];
      const channel = asked === 'sms' || asked === 'voice' ? asked : configured;
      ctx.state.destination = {
        kind: 'phone',
        address: parsed.number,
        channel,
        ...(parsed.country ? { country: parsed.country } : {}),
        line_type: lineTypeWord(parsed.getType()),
      };
      return undefined;
    },
  };
};

/**
 * A number in `country`'s national format written as E.164 (`2015106000` in US: `+12015106000`), for a caller whose
 * numbers are of another country than the pipe's default; anything else is returned as it is, for the pipe to judge.
 */
export function internationalIn(input: string, country: string): string {
  const text = input.trim();
  if (text.startsWith('+') || text.length > MAX_INPUT_LENGTH) return input;
  try {
    const parsed = parsePhoneNumberFromString(text, country as CountryCode);
    return parsed && parsed.isValid() ? parsed.number : input;
  } catch {
    return input;
  }
}
