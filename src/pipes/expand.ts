/**
 * `${...}` expansion of valve config against a flow, evaluated per run.
 *
 * Rules (also in docs/valves.md):
 * - A reference is `${root.seg.seg}` with root one of EXPANSION_ROOTS; `items.0` indexes an array.
 * - A string that is exactly one reference yields the raw value (object, number, ...), as a plain copy.
 * - Otherwise each reference is interpolated: a missing value, null or undefined gives the empty
 *   string, an object or array gives its JSON.
 * - Only own properties are read; the segments `__proto__`, `constructor` and `prototype` are refused
 *   when the pipe is built (checkExpansions) and resolve to nothing if they ever get this far.
 * `${env.X}` and `${globals.x}` belong to the config loader and are gone before a pipe sees config.
 */
import type { FlowContext } from './types.js';
import { isForbiddenKey, ownProperty, toPlainData } from './plain-data.js';

export const EXPANSION_ROOTS = ['exports', 'session', 'request', 'state', 'items', 'authenticator'] as const;
export type ExpansionRoot = (typeof EXPANSION_ROOTS)[number];

const REFERENCE = /\$\{([^${}]*)\}/g;
const ANY_REFERENCE = /\$\{[^${}]*\}/;
const WHOLE_REFERENCE = /^\$\{([^${}]*)\}$/;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** The data a reference may read: the flow minus anything that is not data. */
export type ExpansionScope = Pick<FlowContext, 'exports' | 'session' | 'request' | 'state' | 'items' | 'authenticator'>;

interface Reference {
  root: ExpansionRoot;
  segments: string[];
}

/** Parses the text between `${` and `}`; a string is the reason it is not a usable reference. */
export function parseReference(text: string): Reference | string {
  const parts = text.trim().split('.');
  const [root, ...segments] = parts;
  if (!root) return 'empty reference';
  if (!(EXPANSION_ROOTS as readonly string[]).includes(root)) {
    return `unknown root "${root}" (use one of ${EXPANSION_ROOTS.join(', ')})`;
  }
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) return `invalid path segment "${segment}"`;
    if (isForbiddenKey(segment)) return `the path segment "${segment}" is not allowed`;
  }
  return { root: root as ExpansionRoot, segments };
}

/**
 * References come from the configuration, so there are few of them, and every request resolves the same ones
 * (the subject, the destination): each is parsed once. Bounded all the same, in case a caller makes many.
 */
const parsedReferences = new Map<string, Reference | string>();
const PARSED_LIMIT = 1000;

function parsedReference(text: string): Reference | string {
  let ref = parsedReferences.get(text);
  if (ref === undefined) {
    ref = parseReference(text);
    if (parsedReferences.size >= PARSED_LIMIT) parsedReferences.clear();
    parsedReferences.set(text, ref);
  }
  return ref;
}

export function resolveReference(scope: ExpansionScope, text: string): unknown {
  const ref = parsedReference(text);
  if (typeof ref === 'string') return undefined;
  let value: unknown = scope[ref.root];
  for (const segment of ref.segments) {
    value = ownProperty(value, segment);
    if (value === undefined) return undefined;
  }
  return value;
}

/** Whether any string in `value` (at any depth) holds a reference. */
export function hasExpansions(value: unknown): boolean {
  let found = false;
  walkStrings(value, '', (text) => {
    if (ANY_REFERENCE.test(text)) found = true;
  });
  return found;
}

/** Problems with the references in `value`, each `{ path, message }` with a JSON-pointer-like path. */
export function checkExpansions(value: unknown): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  walkStrings(value, '', (text, path) => {
    for (const match of text.matchAll(REFERENCE)) {
      const ref = parseReference(match[1] ?? '');
      if (typeof ref === 'string') problems.push({ path, message: `${match[0]}: ${ref}` });
    }
  });
  return problems;
}

export function expandString(template: string, scope: ExpansionScope): unknown {
  const whole = WHOLE_REFERENCE.exec(template);
  if (whole) return toPlainData(resolveReference(scope, whole[1] ?? ''));
  if (!template.includes('${')) return template;
  return template.replace(REFERENCE, (_all, text: string) => stringify(resolveReference(scope, text)));
}

/** Expands every string of a JSON-like value; keys are never expanded. Returns a new value. */
export function expandValue(value: unknown, scope: ExpansionScope): unknown {
  if (typeof value === 'string') return expandString(value, scope);
  if (Array.isArray(value)) return value.map((item) => expandValue(item, scope));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a "__proto__" key in config cannot replace a prototype.
    return Object.fromEntries(
      Object.keys(value)
        .filter((key) => !isForbiddenKey(key))
        .map((key) => [key, expandValue((value as Record<string, unknown>)[key], scope)]),
    );
  }
  return value;
}

function stringify(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object') return JSON.stringify(toPlainData(value)) ?? '';
  return '';
}

function walkStrings(value: unknown, path: string, visit: (text: string, path: string) => void): void {
  if (typeof value === 'string') {
    visit(value, path);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => walkStrings(item, `${path}/${i}`, visit));
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) walkStrings((value as Record<string, unknown>)[key], `${path}/${key}`, visit);
  }
}
