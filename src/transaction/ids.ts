import { randomUUID } from 'node:crypto';

/**
 * Strings a store keeps by the hundred thousand (ids, subjects, session ids) should each be one flat piece. V8
 * keeps the result of `a + b` (and of a template literal) as a rope: a 32-byte cons cell over its parts, and
 * crypto.randomUUID() answers a rope of ~15 of them (about 470 bytes kept per id instead of 56). Reading a
 * character makes V8 flatten the rope in place, and the next GC drops the cells, so a kept string costs only its
 * characters (bench/README.md, F3). For a string that is flat already this is one character read.
 */
export function flatString(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** A random id for a transaction or a code, flat (above). */
export function newId(): string {
  return flatString(randomUUID());
}
