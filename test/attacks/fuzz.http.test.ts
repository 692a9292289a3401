import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ERRORS } from '../../src/errors.js';
import { demoVariant } from '../support/demo-variant.js';
import { otpHarness, type Harness } from '../support/otp-harness.js';
import { listen, type RawAnswer, type RawRequest, type RawServer } from '../support/raw-http.js';

// Issue 13, attack 6a: fuzzing the HTTP surface with fast-check. 5,000 random and malformed requests (fixed seed),
// split across the authenticators: the password step, the OTP login step, the OTP phone step of a signed-in user
// (the demo app), and a bare OTP authenticator that allows destination changes (the harness). Methods, paths and
// query strings, content types and encodings, header values, JSON envelopes with wrong types, raw bytes, forms,
// repeated fields, sessions in every state, valid and invalid CSRF tokens, sometimes the real code. Whatever comes
// in: no 5xx, no crash, no unhandled rejection, and the answer is JSON with `status` (an error from the catalogue)
// or HTML or a redirect to a local path; never a stack trace or an internal path.

const SEED = 20_131_313;
const TYPES = ['init', 'start', 'resend', 'change_destination', 'cancel', 'status'];
const CODES = new Set(Object.keys(ERRORS));

interface Sess { cookie: string; csrf: string }
interface Target { path: string; sessions: Sess[]; outbox: () => string; server: RawServer; others: string[] }

// ---- what a case is made of ------------------------------------------------------------------------------------

const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
const anyText = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('', ' ', '١٢٣٤٥٦', '１２３４５６', '12 34-56', '\u0000', '%00', '${env.HOME}', '{{code}}', '__proto__', 'a'.repeat(400)));
/** Values that reach deeper: the session's token, the latest code sent, the demo's credentials. */
const special = fc.constantFrom('$CSRF', '$CODE', 'alice', 'bob', 'carol', '+46702223344', '+46939123456', 'c@example.com');
const value = fc.oneof({ weight: 3, arbitrary: anyText }, { weight: 2, arbitrary: special }, { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) });

const envelope = fc.record({
  type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TYPES) }, { weight: 1, arbitrary: value }),
  data: fc.oneof(
    fc.record({ otp: value, destination: value, identifier: value, password: fc.oneof(value, fc.constant('wonderland')) }, { requiredKeys: [] }),
    value,
  ),
  extra: value,
}, { requiredKeys: [] });

const FORM_KEYS = ['_csrf', 'otp', 'action', 'destination', 'identifier', 'password', 'return', 'location', 'type', 'data[otp]', '__proto__', 'constructor', 'a[b][c]'];
const form = fc.array(fc.tuple(fc.constantFrom(...FORM_KEYS), fc.oneof(anyText, special, fc.constantFrom('resend', 'cancel', 'change_destination', 'start'))), { maxLength: 6 });

type Body =
  | { kind: 'none' } | { kind: 'envelope'; value: unknown } | { kind: 'json'; value: unknown } | { kind: 'text'; value: string }
  | { kind: 'bytes'; value: Uint8Array } | { kind: 'form'; value: [string, string][] } | { kind: 'huge' } | { kind: 'deep' };

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 8, arbitrary: envelope.map((value) => ({ kind: 'envelope' as const, value })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((value) => ({ kind: 'text' as const, value })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((value) => ({ kind: 'bytes' as const, value })) },
  { weight: 5, arbitrary: form.map((value) => ({ kind: 'form' as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'huge' as const }, { kind: 'deep' as const }) },
);

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8') },
  { weight: 3, arbitrary: fc.constantFrom('application/json; charset=utf-16', 'application/json; charset=bogus', 'application/vnd.api+json', 'text/plain', 'text/html',
    'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=latin1', 'application/xml', '*/*', '', 'application/json, text/plain') },
  { weight: 1, arbitrary: headerText },
  { weight: 2, arbitrary: fc.constant(null) },
);

const request = fc.record({
  method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('POST', 'PUT') }, { weight: 4, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constantFrom('HEAD', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'M-SEARCH') }),
  elsewhere: fc.oneof({ weight: 9, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(20) }),
  suffix: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 2, arbitrary: printable.map((q) => `?${q.replaceAll('#', '')}`) },
    { weight: 1, arbitrary: fc.constantFrom('/', '/x', '?lng=sv', '?lng=xx', '%', '/%E0%A4%A', '?a=%ZZ', '//', '/..%2f..%2fetc%2fpasswd', '?__proto__[x]=1', '?location=https://evil.example') }),
  session: fc.oneof({ weight: 8, arbitrary: fc.nat(20) }, { weight: 1, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: headerText.map((c) => `sid=${c}`) }),
  csrf: fc.oneof({ weight: 6, arbitrary: fc.constant('$CSRF') }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: headerText }, { weight: 1, arbitrary: fc.constant(['$CSRF', '$CSRF']) }),
  contentType,
  encoding: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'x-bogus') }),
  accept: fc.oneof(fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml', 'text/html;q=0, application/json;q=0'), headerText, fc.constant(null)),
  language: fc.oneof(fc.constantFrom('sv', 'en', 'sv-SE,sv;q=0.9', 'xx', '*', 'de;q=abc'), headerText, fc.constant(null)),
  xff: fc.oneof(fc.constant(null), headerText, fc.ipV4(), fc.ipV6()),
});

type Case = { method: string; elsewhere: number; suffix: string; session: number | string; csrf: string | string[] | null; contentType: string | null; encoding: string | null; accept: string | null; language: string | null; xff: string | null };

// ---- turning a case into bytes on the wire ---------------------------------------------------------------------

function lastCode(outbox: string): string {
  if (!existsSync(outbox)) return '000000';
  return [...readFileSync(outbox, 'utf8').matchAll(/\b(\d{6})\b/g)].at(-1)?.[1] ?? '000000';
}

function resolve(v: unknown, s: Sess | undefined, code: string): unknown {
  if (v === '$CSRF') return s?.csrf ?? 'no-session';
  if (v === '$CODE') return code;
  if (Array.isArray(v)) return v.map((x) => resolve(x, s, code));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, s, code)]));
  }
  return v;
}

function wire(t: Target, c: Case, b: Body): { req: RawRequest; session: Sess | undefined } {
  const s = typeof c.session === 'number' && c.session >= 0 ? t.sessions[c.session % t.sessions.length] : undefined;
  const code = lastCode(t.outbox());
  const path = (c.elsewhere >= 0 ? t.others[c.elsewhere % t.others.length]! : t.path) + c.suffix;
  const headers: Record<string, string | string[]> = {};
  if (s) headers.cookie = s.cookie;
  else if (typeof c.session === 'string') headers.cookie = c.session;
  if (c.csrf !== null) headers['x-csrf-token'] = resolve(c.csrf, s, code) as string | string[];
  if (c.accept !== null) headers.accept = c.accept;
  if (c.language !== null) headers['accept-language'] = c.language;
  if (c.xff !== null) headers['x-forwarded-for'] = c.xff;
  if (c.encoding !== null) headers['content-encoding'] = c.encoding;
  let payload: Buffer | undefined;
  switch (b.kind) {
    case 'none': break;
    case 'envelope': {
      const e = resolve(b.value, s, code) as Record<string, unknown>;
      const { extra, ...rest } = e;
      payload = Buffer.from(JSON.stringify(extra === undefined ? rest : { ...rest, extra }) ?? 'null');
      break;
    }
    case 'json': payload = Buffer.from(JSON.stringify(b.value)); break;
    case 'text': payload = Buffer.from(b.value); break;
    case 'bytes': payload = Buffer.from(b.value); break;
    case 'form': payload = Buffer.from(b.value.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(resolve(v, s, code)))}`).join('&')); break;
    case 'huge': payload = Buffer.from(JSON.stringify({ type: 'start', data: { otp: 'x'.repeat(20_000) } })); break;
    case 'deep': payload = Buffer.from(`${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`); break;
  }
  if (c.contentType !== null && (payload !== undefined || c.contentType !== '')) headers['content-type'] = c.contentType;
  return { req: { method: c.method, path, headers, ...(payload ? { body: payload } : {}) }, session: s };
}

// ---- what every answer must be ---------------------------------------------------------------------------------

const AUTHENTICATOR_PATHS = new Set(['/authn/password', '/authn/method/otp', '/authn/phone']);

function check(t: Target, req: RawRequest, res: RawAnswer): void {
  const where = `${req.method} ${req.path} [${String(req.headers['content-type'] ?? '-')}] -> ${res.status} ${String(res.headers['content-type'] ?? '-')}: ${res.text.slice(0, 200)}`;
  assert.ok(res.status >= 200 && res.status < 500, `no 5xx: ${where}`);
  assert.doesNotMatch(res.text, /\bat [^\n]+:\d+:\d+|node_modules|\/src\/|[A-Za-z]*Error: /, `no stack trace or internals: ${where}`);
  const type = String(res.headers['content-type'] ?? '');
  if (res.status >= 300 && res.status < 400) {
    const location = String(res.headers.location ?? '');
    assert.match(location, /^\/(?![/\\])/, `a redirect stays on this site: ${where} -> ${location}`);
    return;
  }
  const bare = req.path.split('?')[0]!;
  if (!AUTHENTICATOR_PATHS.has(bare) || req.method === 'HEAD') return;
  if (/application\/json/.test(type)) {
    const parsed = JSON.parse(res.text) as { status?: unknown; error?: { code?: unknown; message?: unknown } };
    assert.equal(typeof parsed.status, 'string', `JSON with status: ${where}`);
    if (parsed.status === 'ERROR') {
      assert.ok(CODES.has(String(parsed.error?.code)), `an error from the catalogue: ${where}`);
      assert.equal(typeof parsed.error?.message, 'string', where);
    }
  } else {
    assert.match(type, /text\/html/, `JSON or HTML from an authenticator: ${where}`);
  }
  void t;
}

// ---- the runs --------------------------------------------------------------------------------------------------

function cookieOf(res: RawAnswer): string | null {
  const all = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const sid = all.find((c) => c.startsWith('sid='));
  return sid ? sid.split(';')[0]! : null;
}

/**
 * Runs the property over `numRuns` cases and keeps going after a bad answer, so that one run lists every distinct
 * kind of failure (by method, path without its query, and what was wrong), with one request of each.
 */
async function runFuzz(t: Target, numRuns: number, seed: number): Promise<{ statuses: Record<number, number>; failures: Map<string, string> }> {
  const statuses: Record<number, number> = {};
  const failures = new Map<string, string>();
  await fc.assert(fc.asyncProperty(request, body, async (c, b) => {
    const { req, session } = wire(t, c as Case, b);
    let res: RawAnswer;
    try {
      res = await t.server.send(req);
    } catch (error) {
      failures.set(`no answer: ${req.method} ${req.path.split('?')[0]}`, `${(error as Error).message}: ${JSON.stringify(req.headers)}`);
      return;
    }
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    try {
      check(t, req, res);
    } catch (error) {
      const message = (error as Error).message.split('\n')[0]!;
      const what = message.split(':')[0];
      const key = `${req.method === 'GET' || req.method === 'POST' || req.method === 'PUT' ? req.method : 'other method'} ${req.path.split('?')[0]} -> ${res.status}: ${what}`;
      if (!failures.has(key)) failures.set(key, `${message.slice(0, 400)} | request headers ${JSON.stringify(req.headers)} | body ${req.body?.toString('utf8').slice(0, 120) ?? '(none)'}`);
    }
    // A login renews the session id: the pool follows the browser.
    const renewed = cookieOf(res);
    if (session && renewed) session.cookie = renewed;
  }), { seed, numRuns });
  return { statuses, failures };
}

async function open(server: RawServer, path: string, cookie?: string): Promise<Sess> {
  const res = await server.send({ method: 'GET', path, headers: { accept: 'application/json', ...(cookie ? { cookie } : {}) } });
  const sid = cookieOf(res) ?? cookie;
  assert.ok(sid, `a session from ${path}: ${res.status} ${res.text}`);
  return { cookie: sid, csrf: (JSON.parse(res.text) as { csrf_token: string }).csrf_token };
}

async function post(server: RawServer, s: Sess, path: string, body: unknown): Promise<RawAnswer> {
  const res = await server.send({ method: 'POST', path, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json', accept: 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
  s.cookie = cookieOf(res) ?? s.cookie;
  return res;
}

describe('attack: fuzzing every authenticator over HTTP (fast-check, 5,000 requests, fixed seed)', function () {
  this.timeout(90_000);
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => { rejections.push(reason); };
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  let demoServer: RawServer;
  let harness: Harness;
  let harnessServer: RawServer;
  const pools: { anon: Sess[]; otp: Sess[]; signed: Sess[]; bare: Sess[] } = { anon: [], otp: [], signed: [], bare: [] };
  const DEMO_OTHERS = ['/authn/password', '/authn/method/otp', '/authn/phone', '/authn/login', '/_authn/consent', '/_authn/assets/otp.css', '/_authn/admin/unlock', '/logout', '/account', '/', '/healthz', '/readyz', '/authn', '/nowhere'];

  before(async () => {
    process.on('unhandledRejection', onRejection);
    demo = await demoVariant(() => {});
    demoServer = await listen(demo.app);
    for (let i = 0; i < 3; i += 1) pools.anon.push(await open(demoServer, '/authn/password'));
    for (const [user, password] of [['alice', 'wonderland'], ['bob', 'builder'], ['carol', 'bletchley'], ['alice', 'wonderland']] as const) {
      const s = await open(demoServer, '/authn/password');
      assert.equal((await post(demoServer, s, '/authn/password', { type: 'start', data: { identifier: user, password } })).status, 200);
      pools.otp.push(await open(demoServer, '/authn/method/otp', s.cookie));
    }
    for (const [user, password] of [['bob', 'builder'], ['carol', 'bletchley']] as const) {
      const s = await open(demoServer, '/authn/password');
      await post(demoServer, s, '/authn/password', { type: 'start', data: { identifier: user, password } });
      const o = await open(demoServer, '/authn/method/otp', s.cookie);
      const done = await post(demoServer, o, '/authn/method/otp', { type: 'start', data: { otp: lastCode(demo.outbox) } });
      assert.equal(JSON.parse(done.text).status, 'COMPLETED', done.text);
      pools.signed.push(await open(demoServer, '/authn/phone', o.cookie));
    }
    harness = await otpHarness({
      lockout_seconds: 0, resend_cooldown_seconds: 0, max_codes: 10, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 5 },
      rate_limits: { entries_per_transaction_per_minute: 1000, failures_per_subject_per_hour: 100, sends_per_destination_per_minute: 1000, sends_per_ip_per_hour: 10_000 },
    });
    harness.app.set('env', 'test'); // Express's default error handler: the same answer, not printed here.
    harnessServer = await listen(harness.app);
    for (let i = 0; i < 4; i += 1) {
      const exp = await harnessServer.send({ method: 'POST', path: '/test/exports', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ username: `fuzz${i}`, mobile: `+4670123450${i}` })) });
      pools.bare.push(await open(harnessServer, '/authn/otp', cookieOf(exp)!));
    }
  });

  after(async () => {
    process.off('unhandledRejection', onRejection);
    await demoServer?.close();
    await harnessServer?.close();
    await demo?.authn.close();
    await harness?.close();
  });

  const targets = (): Record<'password' | 'otp' | 'phone' | 'bare', Target> => ({
    password: { path: '/authn/password', sessions: [...pools.anon, ...pools.otp], outbox: () => demo.outbox, server: demoServer, others: DEMO_OTHERS },
    otp: { path: '/authn/method/otp', sessions: [...pools.otp, ...pools.anon.slice(0, 1)], outbox: () => demo.outbox, server: demoServer, others: DEMO_OTHERS },
    phone: { path: '/authn/phone', sessions: [...pools.signed, ...pools.anon.slice(0, 1)], outbox: () => demo.outbox, server: demoServer, others: DEMO_OTHERS },
    bare: { path: '/authn/otp', sessions: pools.bare, outbox: () => harness.outbox, server: harnessServer, others: ['/authn/otp', '/_authn/consent', '/_authn/assets/otp-form.js', '/nowhere'] },
  });

  const RUNS: [keyof ReturnType<typeof targets>, number][] = [['password', 1400], ['otp', 1400], ['phone', 1000], ['bare', 1200]];
  RUNS.forEach(([name, numRuns], i) => {
    it(`${name}: ${numRuns} requests, every answer a 2xx-4xx JSON with status, HTML or a local redirect`, async () => {
      const t = targets()[name]!;
      const { statuses, failures } = await runFuzz(t, numRuns, SEED + i);
      if (process.env.SHOW_FUZZ) console.log(`    ${name}: ${JSON.stringify(statuses)}`);
      if (failures.size > 0) assert.fail(`${failures.size} kinds of bad answer:\n${[...failures].map(([k, v]) => `  - ${k}\n      e.g. ${v}`).join('\n')}`);
      assert.ok(Object.keys(statuses).length >= 4, `the fuzz reached several outcomes: ${JSON.stringify(statuses)}`);
      const health = await t.server.send({ method: 'GET', path: t.server === demoServer ? '/healthz' : '/authn/otp', headers: {} });
      assert.ok(health.status < 500, 'the server still answers');
    });
  });

  it('no unhandled promise rejection fired during the fuzz', () => {
    assert.deepEqual(rejections.map(String), []);
  });

  it('the totals: 5,000 requests', () => {
    assert.equal(RUNS.reduce((n, [, r]) => n + r, 0), 5000);
  });
});
