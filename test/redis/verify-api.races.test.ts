import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/otp-api.js';
import { describeRedis } from '../support/redis.js';
import { freePort, jsonLines, settledLines, spawnDemo, stopProcess, waitHealthy, type DemoProcess, outboxCodes, eventsOf } from '../support/redis-processes.js';

// Issue 24 on Redis: the verification API (/api/verify, key `demo`, authenticator `api-otp`) of two demo processes
// (`src/server.ts`) on one Redis and one key prefix. A verification made on one process is checked on both at
// once: however many checks race, exactly allowed_otp_retry + 1 entries are evaluated, and the right code
// approves exactly once.

const ALLOWED_OTP_RETRY = 2; // api-otp in config/default.json
const MAX_ENTRIES = ALLOWED_OTP_RETRY + 1;
const API_SECRET = `races-${randomBytes(8).toString('hex')}`;
const AUTH = `Bearer demo.${API_SECRET}`;
const TIGHT = 10;

interface Answer { status: number; body: any; text: string }

describeRedis('issue 24: verification API races across two demo processes on one Redis', (ctx) => {
  let dir: string;
  let outbox: string;
  const eventsFiles: string[] = [];
  let a: DemoProcess;
  let b: DemoProcess;

  const codesTo = (to: string): string[] => outboxCodes(outbox, to);
  const events = (id: string, who: string): Record<string, unknown>[] => eventsOf(eventsFiles, id, who);

  async function api(p: DemoProcess, method: 'GET' | 'POST', route: string, json?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: AUTH };
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${p.base}/api/verify/v1/verifications${route}`, { method, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    const text = await res.text();
    let body: unknown = null;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body, text };
  }

  const check = (p: DemoProcess, id: string, code: string) => api(p, 'POST', `/${id}/check`, { code });

  /** A verification made on `p` for `subject` (a subject of its own per test: events are told apart by it). */
  async function create(p: DemoProcess, to: string, subject: string): Promise<{ id: string; code: string }> {
    const before = codesTo(to).length;
    const made = await api(p, 'POST', '', { to, subject });
    assert.equal(made.status, 201, made.text);
    assert.deepEqual([made.body.status, made.body.attempts_left], ['pending', MAX_ENTRIES], made.text);
    const codes = codesTo(to);
    assert.equal(codes.length, before + 1, 'one code went to the outbox');
    return { id: made.body.id as string, code: codes.at(-1)! };
  }

  /** What an answer is: its error code, else its status (`approved`, ...), else its HTTP status. */
  function kind(r: Answer): string {
    return r.body?.error?.code ?? r.body?.status ?? `HTTP ${r.status}`;
  }

  function tally(answers: readonly Answer[], of: (r: Answer) => string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of answers) counts[of(r)] = (counts[of(r)] ?? 0) + 1;
    return counts;
  }

  before(async function () {
    this.timeout(40_000);
    dir = mkdtempSync(path.join(os.tmpdir(), 'otp-verify-races-'));
    outbox = path.join(dir, 'outbox.jsonl');
    // The demo's config; api-otp's entry budgets above 500 so that every check races for an attempt (with the
    // default 10 entries a minute, 490 of the 500 would be RATE_LIMITED before they reach the reservation).
    const config = JSON.parse(readFileSync(path.join(ROOT, 'config', 'default.json'), 'utf8')) as Record<string, any>;
    delete config.$schema;
    config.pipes = `@include:${path.join(ROOT, 'pipes')}`;
    config.logging.events.console = false;
    const otp = (config.authenticators as { id: string; config: Record<string, unknown> }[]).find((x) => x.id === 'api-otp')!;
    assert.equal(otp.config.allowed_otp_retry, ALLOWED_OTP_RETRY);
    otp.config.rate_limits = { entries_per_transaction_per_minute: 1000, failures_per_subject_per_hour: 100 };
    // The demo key may make every request of these races; a second key has a budget of 10 a minute.
    config.verify_api.keys[0].requests_per_minute = 5000;
    config.verify_api.keys.push({ key_id: 'tight', secret: API_SECRET, authenticator: 'api-otp', requests_per_minute: TIGHT });
    const configFile = path.join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    copyFileSync(path.join(ROOT, 'config', 'demo-users.json'), path.join(dir, 'demo-users.json'));

    const [portA, portB] = [await freePort(), await freePort()];
    assert.notEqual(portA, portB);
    const env = (name: string): Record<string, string> => {
      const events = path.join(dir, `events-${name}.jsonl`);
      eventsFiles.push(events);
      return {
        REDIS_URL: ctx.url, REDIS_PREFIX: ctx.prefix, OTP_CONFIG: configFile, OUTBOX_FILE: outbox, EVENTS_FILE: events,
        OTP_SECRET: 'verify-races-otp-secret', SESSION_SECRET: 'verify-races-session-secret', VERIFY_API_DEMO_SECRET: API_SECRET,
      };
    };
    a = spawnDemo(ROOT, env('a'), portA!);
    b = spawnDemo(ROOT, env('b'), portB!);
    await Promise.all([waitHealthy(a), waitHealthy(b)]);
  });

  after(async () => {
    await Promise.all([stopProcess(a?.child, 'SIGKILL'), stopProcess(b?.child, 'SIGKILL')]);
  });

  it('both serve the API from Redis: a verification made on A reads on B; the default secret is refused', async () => {
    const { id } = await create(a, '+46701230000', 'races-shared');
    const onB = await api(b, 'GET', `/${id}`);
    assert.equal(onB.status, 200, onB.text);
    assert.deepEqual([onB.body.id, onB.body.status], [id, 'pending']);
    const keys: string[] = [];
    for await (const batch of ctx.client.scanIterator({ MATCH: `${ctx.prefix}*`, COUNT: 500 })) keys.push(...batch);
    assert.ok(keys.length > 0, 'the transaction lives under the suite\'s prefix');
    const stale = await fetch(`${b.base}/api/verify/v1/verifications/${id}`, { headers: { Authorization: 'Bearer demo.demo-secret' } });
    assert.equal(stale.status, 401, 'VERIFY_API_DEMO_SECRET reached the processes');
  });

  it(`500 parallel wrong checks over both processes: exactly ${MAX_ENTRIES} evaluated (WEB_100020), the rest refused unevaluated; the right code then approves nothing`, async function () {
    this.timeout(30_000);
    const subject = 'races-wrong';
    const to = '+46701230001';
    const { id, code } = await create(a, to, subject);
    const wrong = (i: number) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0');
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => check(i % 2 === 0 ? a : b, id, wrong(i))));

    for (const r of answers) assert.ok(r.status < 500, `no 5xx: ${r.status} ${r.text}`);
    for (const r of answers) assert.equal(r.status, 200, r.text);
    const kinds = tally(answers, kind);
    if (process.env.SHOW_KINDS) console.log('    wrong code x500:', JSON.stringify(kinds), JSON.stringify(tally(answers, (r) => `${kind(r)}/${r.body?.status}/${r.body?.detail}`)));
    // Two evaluated wrong entries (INVALID_OTP); the third evaluated one aborts (MAX_ATTEMPTS) and so does every
    // refused one: the answers alone cannot tell those apart, the events can.
    assert.deepEqual(kinds, { INVALID_OTP: MAX_ENTRIES - 1, MAX_ATTEMPTS: 500 - (MAX_ENTRIES - 1) }, JSON.stringify(kinds));
    for (const r of answers) {
      assert.notEqual(r.body.status, 'approved', r.text);
      // A check refused unevaluated (every attempt held by checks in flight) is an error of its own, not a verdict.
      if (r.body.status === 'ERROR') {
        assert.equal(r.body.error.code, 'MAX_ATTEMPTS', r.text);
        continue;
      }
      assert.equal(r.body.id, id);
      assert.equal(r.body.action, 'FAIL', r.text);
      assert.ok(['pending', 'reject'].includes(r.body.status), r.text);
    }
    assert.ok(answers.some((r) => r.body.status === 'reject' && r.body.detail === 'FAILED OUT-OF-BAND CHECK' && r.body.attempts_left === 0), 'the abort answers reject, FAILED OUT-OF-BAND CHECK');
    const first = answers.filter((r) => kind(r) === 'INVALID_OTP');
    for (const r of first) assert.ok(r.body.attempt_count <= MAX_ENTRIES && r.body.attempts_left >= 0, r.text);

    // The events files of both processes: exactly MAX_ENTRIES evaluations, attempts 1..3, the last one aborting.
    const failed = await settledLines(eventsFiles, (e) => e.event_id === 'WEB_100020' && e.CUSTOMER_IDENTIFIER === subject);
    assert.equal(failed.length, MAX_ENTRIES, `WEB_100020 lines: ${failed.length}`);
    assert.deepEqual(failed.map((e) => e.attempt).sort(), [1, 2, 3]);
    assert.deepEqual(failed.map((e) => e.aborted).sort(), [false, false, true]);
    assert.equal(events('OTP_200008', subject).length, 1, 'one abort');
    const refused = await settledLines(eventsFiles, (e) => e.event_id === 'OTP_200007' && e.CUSTOMER_IDENTIFIER === subject);
    assert.equal(refused.length, 500 - MAX_ENTRIES, `refused unevaluated (OTP_200007): ${refused.length}`);
    for (const e of refused) assert.match(String(e.reason), /^MAX_ATTEMPTS: /);
    assert.equal(events('WEB_100019', subject).length, 0);
    for (const f of eventsFiles) {
      const here = jsonLines(f).filter((e) => e.CUSTOMER_IDENTIFIER === subject && (e.event_id === 'OTP_200007' || e.event_id === 'WEB_100020'));
      assert.equal(here.length, 250, `each process handled its half of the checks: ${path.basename(f)}`);
    }

    const report = await api(b, 'GET', `/${id}`);
    assert.equal(report.status, 200, report.text);
    assert.deepEqual([report.body.status, report.body.action, report.body.detail, report.body.attempt_count], ['reject', 'FAIL', 'FAILED OUT-OF-BAND CHECK', MAX_ENTRIES], report.text);

    // Afterwards the right code, on either process, approves nothing.
    for (const p of [a, b]) {
      const late = await check(p, id, code);
      assert.ok(late.status < 500, late.text);
      assert.notEqual(late.body?.status, 'approved', late.text);
      assert.notEqual(late.body?.action, 'PASS', late.text);
    }
    const after = await api(a, 'GET', `/${id}`);
    assert.deepEqual([after.body.status, after.body.attempt_count], ['reject', MAX_ENTRIES], after.text);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events('WEB_100019', subject).length, 0, 'no WEB_100019 after the abort');
    assert.equal(events('WEB_100020', subject).length, MAX_ENTRIES, 'the late right codes were not evaluated');
  });

  it('100 parallel right checks over both processes approve exactly once (one `approved`, one WEB_100019)', async function () {
    this.timeout(30_000);
    const subject = 'races-right';
    const to = '+46701230002';
    const { id, code } = await create(b, to, subject);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => check(i % 2 === 0 ? a : b, id, code)));

    for (const r of answers) assert.ok(r.status < 500, `no 5xx: ${r.status} ${r.text}`);
    const kinds = tally(answers, (r) => `${r.status} ${kind(r)} ${r.body?.status}/${r.body?.action}`);
    if (process.env.SHOW_KINDS) console.log('    right code x100:', JSON.stringify(kinds));
    const approved = answers.filter((r) => r.status === 200 && r.body?.error === undefined);
    assert.equal(approved.length, 1, JSON.stringify(kinds));
    assert.deepEqual(approved[0]!.body, { id, status: 'approved', action: 'PASS', detail: 'ALL CHECKS PASSED', attempt_count: 1, attempts_left: MAX_ENTRIES });
    // Every other check: refused with an error code (NO_PENDING_CODE 409: the code works once; MAX_ATTEMPTS 200:
    // every attempt was held by checks in flight), never an answer a backend could read as approved. (The check
    // route builds its answer from the transaction as it is after the refusal, so a MAX_ATTEMPTS refusal that reads
    // it after the winner recorded says 200 `approved`/`PASS` beside its error: this assertion catches that.)
    for (const r of answers) {
      if (r === approved[0]) continue;
      assert.equal(typeof r.body?.error?.code, 'string', `a refused check says why: ${r.status} ${r.text}`);
      assert.ok(['NO_PENDING_CODE', 'MAX_ATTEMPTS'].includes(r.body.error.code), `${r.status} ${r.text}`);
      assert.notEqual(r.body.status, 'approved', `a refused check must not answer approved: ${r.status} ${r.text}`);
      assert.notEqual(r.body.action, 'PASS', `a refused check must not answer PASS: ${r.status} ${r.text}`);
    }
    const ok = await settledLines(eventsFiles, (e) => e.event_id === 'WEB_100019' && e.CUSTOMER_IDENTIFIER === subject);
    assert.equal(ok.length, 1, `WEB_100019 lines: ${ok.length}`);
    assert.equal(events('WEB_100020', subject).length, 0, 'the right code never counts as wrong');
    const report = await api(a, 'GET', `/${id}`);
    assert.deepEqual([report.body.status, report.body.action, report.body.attempt_count], ['approved', 'PASS', 1], report.text);
  });

  it(`a key's rate limit holds across the processes: 30 requests split over both, exactly ${TIGHT} served, the rest 429 RATE_LIMITED`, async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => fetch(`${(i % 2 === 0 ? a : b).base}/api/verify/v1/verifications/vf.none`, { headers: { Authorization: `Bearer tight.${API_SECRET}` } })));
    const statuses = answers.map((r) => r.status);
    assert.equal(statuses.filter((st) => st === 404).length, TIGHT, JSON.stringify(statuses));
    assert.equal(statuses.filter((st) => st === 429).length, 30 - TIGHT, JSON.stringify(statuses));
    const limited = answers.find((r) => r.status === 429)!;
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
  });
});
