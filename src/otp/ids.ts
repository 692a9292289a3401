import { randomUUID } from 'node:crypto';
import { flatString } from './flat-string.js';

/**
 * A random id for a transaction or a code, flat: randomUUID() hands back a string made of many small pieces
 * (about 470 bytes kept per id against about 56 flat), which matters for ids a store keeps by the hundred
 * thousand (src/otp/flat-string.ts, bench/README.md).
 */
export function newId(): string {
  return flatString(randomUUID());
}
