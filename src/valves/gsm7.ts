/**
 * How many SMS segments a text takes (3GPP TS 23.038). A text whose every character is in the GSM 03.38 default
 * alphabet (or its extension table, which costs two septets a character) goes as GSM-7: 160 septets in one
 * segment, 153 a segment when concatenated. Any other character makes the whole text UCS-2: 70 UTF-16 units in
 * one segment, 67 a segment when concatenated.
 */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION = '\f^{}\\[~]|€';

const basic = new Set([...BASIC]);
const extension = new Set([...EXTENSION]);

export const GSM7_SINGLE_SEGMENT = 160;
export const UCS2_SINGLE_SEGMENT = 70;

export interface SmsLength {
  encoding: 'GSM-7' | 'UCS-2';
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  /** What one segment holds in this encoding. */
  singleSegment: number;
  segments: number;
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (!basic.has(ch) && !extension.has(ch)) return false;
  return true;
}

export function smsLength(text: string): SmsLength {
  if (isGsm7(text)) {
    let units = 0;
    for (const ch of text) units += extension.has(ch) ? 2 : 1;
    return { encoding: 'GSM-7', units, singleSegment: GSM7_SINGLE_SEGMENT, segments: units <= 160 ? 1 : Math.ceil(units / 153) };
  }
  const units = text.length;
  return { encoding: 'UCS-2', units, singleSegment: UCS2_SINGLE_SEGMENT, segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}
