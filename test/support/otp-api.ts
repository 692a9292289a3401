import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import type { AuthnOptions } from '../../src/assembly/create-authn.js';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OTP_PATH, otpHarness, type Harness } from './otp-harness.js';

/**
 * Helpers for the HTTP suites of the OTP API (issue 5). Built on top of otp-harness, which they do not change.
 */
/** The repository root, found from this file (not from src/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ALICE_MOBILE = '+46701234567';
export const ALICE = { username: 'alice', mobile: ALICE_MOBILE };
export const ALICE_MASKED = '+46 70*** **67';

/** High rate limits, so that tests about attempts are not disturbed by the entry limits. */
export const HIGH_LIMITS = { rate_limits: { entries_per_transaction_per_minute: 1000, failures_per_subject_per_hour: 100 } };

/** Every event id emitted anywhere in this test process (docs.errors.test.ts checks them against docs/events.md). */
export const emittedEventIds = new Set<string>();
onEvent((e) => emittedEventIds.add(e.event_id));

/** A clock the test moves by hand (milliseconds). */
export interface Clock { now(): number; advance(seconds: number): void }
export function fakeClock(start = Date.parse('2030-01-01T00:00:00.000Z')): Clock {
  let t = start;
  return { now: () => t, advance: (seconds) => { t += seconds * 1000; } };
}

/**
 * A fresh harness for every test of the enclosing describe (its own memory store, rate limits and outbox),
 * so that lockouts and per-destination limits of one test never reach another.
 */
export function harnessPerTest(otpConfig: Record<string, unknown> = {}, options: () => AuthnOptions = () => ({}), extra: Record<string, unknown> = {}): () => Harness {
  let h: Harness | undefined;
  beforeEach(async () => { h = await otpHarness(otpConfig, options(), extra); });
  afterEach(async () => { await h?.close(); h = undefined; });
  return () => {
    if (!h) throw new Error('no harness: call inside a test');
    return h;
  };
}

/** A 6-digit code that is none of `codes`. */
export function wrongCode(codes: readonly string[], seed = 0): string {
  for (let n = seed; ; n += 1) {
    const candidate = String((n * 7919 + 137) % 1_000_000).padStart(6, '0');
    if (!codes.includes(candidate)) return candidate;
  }
}

/**
 * A browser session that holds exports but has not done the first GET yet (the harness's `user()` always does it):
 * for asserting what that first GET answers.
 */
export interface Session {
  agent: ReturnType<typeof request.agent>;
  csrf: string;
  get(accept?: string, query?: string): request.Test;
  send(type: string, data?: unknown, query?: string): request.Test;
}

export async function session(h: Harness, exports: Record<string, unknown> | null = ALICE): Promise<Session> {
  const agent = request.agent(h.app);
  if (exports) await agent.post('/test/exports').send(exports).expect(200);
  const s: Session = {
    agent,
    csrf: '',
    get: (accept = 'application/json', query = '') => agent.get(OTP_PATH + query).set('Accept', accept),
    send: (type, data, query = '') => agent.post(OTP_PATH + query).set('X-CSRF-Token', s.csrf).send(data === undefined ? { type } : { type, data }),
  };
  return s;
}

/** Does the first GET of a session and keeps its CSRF token; returns the answer. */
export async function firstGet(s: Session): Promise<request.Response> {
  const res = await s.get();
  const token = (res.body as { csrf_token?: unknown }).csrf_token;
  if (typeof token === 'string') s.csrf = token;
  return res;
}

export function outboxCount(h: Harness): number {
  return h.codes().length;
}

export function eventsOf(h: Harness, id: string): EventRecord[] {
  return h.events.filter((e) => e.event_id === id);
}

/** A client error is a catalogue answer: JSON with status ERROR and the code, never a 5xx, a stack trace or exception text. */
export function assertErrorAnswer(res: request.Response, httpStatus: number, code: string): void {
  assert.equal(res.status, httpStatus, `HTTP status for ${code}: ${res.status} ${res.text}`);
  assert.match(String(res.headers['content-type']), /application\/json/);
  assert.equal(res.body.status, 'ERROR', res.text);
  assert.equal(res.body.error?.code, code, res.text);
  assert.equal(typeof res.body.error?.message, 'string');
  assert.notEqual(res.body.error.message, '');
  assert.notEqual(res.body.error.message, `errors.${code}`, 'the message is a translation, not its key');
  assertNoLeak(res);
}

export function assertNoLeak(res: request.Response): void {
  assert.ok(res.status < 500, `no 5xx: ${res.status} ${res.text}`);
  assert.ok(!res.text.includes('Error:'), `no exception text in the body: ${res.text}`);
  assert.ok(!/\bat .+:\d+:\d+/.test(res.text), `no stack trace in the body: ${res.text}`);
  assert.ok(!res.text.includes('node_modules') && !res.text.includes('/src/'), `no paths in the body: ${res.text}`);
}

export interface Translations {
  errors: Record<string, string>;
  otp_validation: Record<string, string>;
  [key: string]: unknown;
}

export function translations(lng: 'en' | 'sv'): Translations {
  return JSON.parse(readFileSync(path.join(ROOT, 'locales', lng, 'translation.json'), 'utf8')) as Translations;
}

/** Runs `n` copies of `make` at once and waits for every answer. */
export async function parallel(n: number, make: (i: number) => request.Test): Promise<request.Response[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => make(i).then((r) => r)));
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

/** `status` for success answers, `error.code` for errors: one word to count parallel answers by. */
export function answerKind(res: request.Response): string {
  const body = res.body as { status?: string; error?: { code?: string } };
  return body.status === 'ERROR' ? body.error?.code ?? 'ERROR?' : body.status ?? `HTTP ${res.status}`;
}
