import { randomUUID } from 'node:crypto';

/**
 * A random id for a transaction or a code. randomUUID() hands back a string made of many small pieces (about 470
 * bytes kept per id); reading one character makes V8 flatten it to one piece of about 56, which matters for ids a
 * store keeps by the hundred thousand (bench/README.md).
 */
export function newId(): string {
  const id = randomUUID();
  id.charCodeAt(0);
  return id;
}
