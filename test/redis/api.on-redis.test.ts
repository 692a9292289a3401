import assert from 'node:assert/strict';
import request from 'supertest';
import { generate, generateSecret } from 'otplib';
import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { clearUsedTotpSteps } from '../../src/valves/totp-validate.js';
import { OTP_PATH, otpHarness, type Harness } from '../support/otp-harness.js';
import {
  ALICE, ALICE_MOBILE, answerKind, assertErrorAnswer, countBy, eventsOf, firstGet, HIGH_LIMITS, outboxCount, parallel, session, wrongCode,
} from '../support/otp-api.js';
import { describeRedis, type RedisContext } from '../support/redis.js';
import { sleep } from '../support/redis-processes.js';

// Issue 10: the OTP API of SPEC section 3 on `store.type: "redis"` (SPEC section 7), in process: the transactions,
// the lockouts, every rate limit and the sessions in Redis, under a key prefix of this suite's own per test.

/** The session id inside a signed `sid` cookie (`s:<id>.<signature>`). */
function sessionIdOf(setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie.join('\n') : String(setCookie ?? '');
  const m = /sid=s%3A([^.;]+)\./.exec(all);
  if (!m) throw new Error(`no signed sid cookie in ${all}`);
  return decodeURIComponent(m[1]!);
}

/** A browser whose session cookie is carried by hand, so that it can talk to several apps on one Redis. */
interface Browser {
  cookie: string;
  csrf: string;
  get(h: Harness): request.Test;
  send(h: Harness, type: string, data?: unknown): request.Test;
}

async function browser(h: Harness, exports: Record<string, unknown> = ALICE): Promise<Browser & { first: request.Response }> {
  const exp = await request(h.app).post('/test/exports').send(exports).expect(200);
  const cookie = String(exp.headers['set-cookie']).split(';')[0]!;
  const b = {
    cookie,
    csrf: '',
    get: (app: Harness) => request(app.app).get(OTP_PATH).set('Accept', 'application/json').set('Cookie', cookie),
    send: (app: Harness, type: string, data?: unknown) =>
      request(app.app).post(OTP_PATH).set('Cookie', cookie).set('X-CSRF-Token', b.csrf).send(data === undefined ? { type } : { type, data }),
  };
  const first = await b.get(h);
  b.csrf = (first.body as { csrf_token: string }).csrf_token;
  return Object.assign(b, { first });
}

describeRedis('issue 10: the OTP API on the Redis store (in process)', (ctx: RedisContext) => {
  let n = 0;
  const open: Harness[] = [];

  /** A harness on Redis under `prefix` (a fresh one per call unless given: two harnesses on one prefix are two processes). */
  async function onRedis(otpConfig: Record<string, unknown> = {}, prefix = `${ctx.prefix}${(n += 1)}:`): Promise<Harness & { prefix: string }> {
    const h = await otpHarness(otpConfig, {}, { store: { type: 'redis', url: ctx.url, prefix } });
    open.push(h);
    return Object.assign(h, { prefix });
  }

  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });

  it('really runs on Redis: the store is the Redis one and writes its keys under the prefix', async () => {
    const h = await onRedis();
    assert.ok(h.authn.store instanceof RedisTransactionStore, `store is ${h.authn.store.constructor.name}`);
    await h.user();
    const keys = await ctx.client.keys(`${h.prefix}tx:*`);
    assert.equal(keys.length, 1, `one transaction key under ${h.prefix}: ${keys.join(', ')}`);
  });

  it('a full flow: GET sends a code, a wrong code answers INVALID_OTP with attempts_left 2, the right one COMPLETED', async () => {
    const h = await onRedis();
    const s = await session(h, ALICE);
    const first = await firstGet(s);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.status, 'PENDING');
    assert.equal(first.body.attempts_left, 3);
    assert.equal(outboxCount(h), 1, 'the GET sent one code');
    const [code] = h.codes(ALICE_MOBILE);
    assert.match(code!, /^\d{6}$/);
    const reload = await s.get();
    assert.equal(reload.body.status, 'PENDING');
    assert.equal(outboxCount(h), 1, 'a reload sends nothing');
    const wrong = await s.send('start', { otp: wrongCode([code!]) });
    assertErrorAnswer(wrong, 200, 'INVALID_OTP');
    assert.equal(wrong.body.attempts_left, 2);
    const right = await s.send('start', { otp: code });
    assert.equal(right.status, 200, right.text);
    assert.deepEqual(right.body, { status: 'COMPLETED', location: '/account' });
    assert.equal(eventsOf(h, 'WEB_100019').length, 1);
    assert.equal(eventsOf(h, 'WEB_100020').length, 1);
    const again = await s.send('start', { otp: code });
    assertErrorAnswer(again, 409, 'NO_PENDING_CODE');
    const after = await s.get();
    assert.equal(after.status, 303, 'GET after COMPLETED redirects');
    assert.equal(after.headers.location, '/account');
  });

  it('the session lives in Redis: `${prefix}sess:<id>` holds it after the first GET, and another app on the same Redis continues it', async () => {
    const prefix = `${ctx.prefix}${(n += 1)}:`;
    const a = await onRedis({}, prefix);
    const agent = request.agent(a.app);
    const exp = await agent.post('/test/exports').send(ALICE).expect(200);
    const first = await agent.get(OTP_PATH).set('Accept', 'application/json').expect(200);
    assert.equal(first.body.status, 'PENDING');
    const sid = sessionIdOf(exp.headers['set-cookie']);
    const sessKeys = await ctx.client.keys(`${prefix}sess:*`);
    assert.ok(sessKeys.length >= 1, `a session key under ${prefix}sess:`);
    const stored = await ctx.client.get(`${prefix}sess:${sid}`);
    assert.ok(stored, `the session ${sid} is in Redis`);
    assert.match(stored!, /"username":"alice"/);

    // A second app (another process, in effect) on the same prefix: the same cookie finishes the flow there.
    const b = await onRedis({}, prefix);
    const cookie = String(exp.headers['set-cookie']).split(';')[0]!;
    const code = a.codes(ALICE_MOBILE)[0];
    const done = await request(b.app).post(OTP_PATH).set('Cookie', cookie).set('X-CSRF-Token', first.body.csrf_token).send({ type: 'start', data: { otp: code } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.status, 'COMPLETED');
  });

  it('a TOTP code accepted by one process is refused by another: the replay guard lives in Redis', async () => {
    const prefix = `${ctx.prefix}${(n += 1)}:`;
    const totp = async () => {
      const h = await otpHarness({ pre_pipe_id: undefined, pipe_id: 'totp', destination: {} }, {}, {
        store: { type: 'redis', url: ctx.url, prefix },
        pipes: [{ id: 'totp', valves: [{ name: 'TotpValidate', config: { secret: '${exports.totp_secret}' } }] }],
      });
      open.push(h);
      return h;
    };
    const [a, b] = [await totp(), await totp()];
    const secret = generateSecret();
    const dave = { username: 'dave', totp_secret: secret };
    const code = await generate({ secret });
    const first = await browser(a, dave);
    const accepted = await first.send(a, 'start', { otp: code });
    assert.deepEqual(accepted.body, { status: 'COMPLETED', location: '/account' });
    // The second app stands for another process: nothing of the first one's memory may help it.
    clearUsedTotpSteps();
    const second = await browser(b, dave);
    const replayed = await second.send(b, 'start', { otp: code });
    assert.equal(replayed.body.error?.code, 'INVALID_OTP', `the same code in another session on another process: ${replayed.text}`);
    assert.equal((await ctx.client.keys(`${prefix}totp:*`)).length, 1, 'one step record, keyed by a hash of the secret');
    assert.ok(!(await ctx.client.keys(`${prefix}*`)).some((k) => k.includes(secret)), 'no key names the secret');
  });

  it('200 parallel wrong entries on one transaction: exactly 3 evaluated (2 INVALID_OTP, 1 MAX_ATTEMPTS aborted)', async function () {
    this.timeout(20_000);
    const h = await onRedis(HIGH_LIMITS);
    const u = await h.user();
    const codes = h.codes();
    const answers = await parallel(200, (i) => u.send('start', { otp: wrongCode(codes, i) }));
    const kinds = countBy(answers, answerKind);
    assert.equal(kinds.INVALID_OTP, 2, JSON.stringify(kinds));
    assert.equal(kinds.MAX_ATTEMPTS, 198, `the other 198 answer MAX_ATTEMPTS (limits are high): ${JSON.stringify(kinds)}`);
    for (const res of answers) {
      assert.equal(res.status, 200, `${res.status} ${res.text}`);
      // After the abort: aborted, 0 left (SPEC 3). An entry that found every remaining attempt held by entries in
      // flight is refused unevaluated too, saying so: not aborted (yet), attempts_left as stored (transaction/entry.ts).
      if (answerKind(res) === 'MAX_ATTEMPTS') {
        const shape = [res.body.aborted, res.body.attempts_left];
        assert.ok((shape[0] === true && shape[1] === 0) || (shape[0] === false && shape[1] >= 1 && shape[1] <= 3), res.text);
      }
    }
    assert.ok(answers.some((r) => answerKind(r) === 'MAX_ATTEMPTS' && r.body.aborted === true), 'the abort is answered');
    if (process.env.SHOW_KINDS) console.log(`    200 wrong: ${JSON.stringify(kinds)}, of them MAX_ATTEMPTS not aborted: ${answers.filter((r) => answerKind(r) === 'MAX_ATTEMPTS' && r.body.aborted === false).length}`);
    assert.deepEqual(answers.filter((r) => answerKind(r) === 'INVALID_OTP').map((r) => r.body.attempts_left).sort(), [1, 2]);
    const failed = eventsOf(h, 'WEB_100020');
    assert.equal(failed.length, 3, 'allowed_otp_retry + 1 = 3 evaluated');
    assert.deepEqual(failed.map((e) => e.attempt).sort(), [1, 2, 3]);
    assert.equal(failed.filter((e) => e.aborted === true).length, 1, 'one evaluated MAX_ATTEMPTS, aborted');
    assert.equal(eventsOf(h, 'OTP_200008').length, 1, 'one abort');
    const status = await u.send('status').expect(200);
    assert.equal(status.body.status, 'ABORTED');
    assert.equal(status.body.report.attempt_count, 3);
  });

  it('the right code 50 times in parallel completes exactly once', async function () {
    this.timeout(20_000);
    const h = await onRedis(HIGH_LIMITS);
    const u = await h.user();
    const [code] = h.codes();
    const answers = await parallel(50, () => u.send('start', { otp: code }));
    const kinds = countBy(answers, answerKind);
    assert.equal(kinds.COMPLETED, 1, JSON.stringify(kinds));
    // The others: the code works once (NO_PENDING_CODE, 409), or every attempt was held by entries in flight
    // (MAX_ATTEMPTS unevaluated, not aborted: nothing was wrong).
    assert.equal((kinds.NO_PENDING_CODE ?? 0) + (kinds.MAX_ATTEMPTS ?? 0), 49, JSON.stringify(kinds));
    for (const res of answers) {
      const k = answerKind(res);
      assert.equal(res.status, k === 'NO_PENDING_CODE' ? 409 : 200, res.text);
      if (k === 'MAX_ATTEMPTS') assert.equal(res.body.aborted, false, res.text);
    }
    assert.equal((await u.send('status')).body.status, 'COMPLETED');
    assert.equal(eventsOf(h, 'WEB_100019').length, 1);
    assert.equal(eventsOf(h, 'WEB_100020').length, 0);
  });

  it('lockout across sessions: after an abort another session of the subject gets LOCKED (423), nothing sent', async () => {
    const h = await onRedis();
    const u = await h.user();
    for (let i = 1; i <= 3; i += 1) await u.send('start', { otp: wrongCode(h.codes(), i) }).expect(200);
    assert.equal((await u.send('status')).body.status, 'ABORTED');
    assert.ok(await ctx.client.exists(`${h.prefix}lock:{otp:alice}`), 'the lockout is a Redis key');
    const sent = outboxCount(h);
    const other = await firstGet(await session(h, ALICE));
    assertErrorAnswer(other, 423, 'LOCKED');
    assert.equal(typeof other.body.csrf_token, 'string', 'LOCKED carries csrf_token');
    const retry = Number(other.headers['retry-after']);
    assert.ok(retry > 590 && retry <= 600, `Retry-After ${other.headers['retry-after']}`);
    assert.equal(outboxCount(h), sent, 'nothing sent');
    // Another app on the same Redis (another process) sees the same lockout.
    const elsewhere = await onRedis({}, h.prefix);
    assertErrorAnswer(await firstGet(await session(elsewhere, ALICE)), 423, 'LOCKED');
    // Another subject is not locked.
    const bob = await firstGet(await session(h, { username: 'bob', mobile: '+46701112233' }));
    assert.equal(bob.status, 200, bob.text);
  });

  it('RATE_LIMITED with Retry-After from a Redis limit: entries per transaction, and a send limit shared by two apps', async () => {
    const h = await onRedis({ rate_limits: { entries_per_transaction_per_minute: 2, sends_per_destination_per_minute: 1 } });
    const u = await h.user();
    const codes = h.codes();
    assertErrorAnswer(await u.send('start', { otp: wrongCode(codes, 1) }), 200, 'INVALID_OTP');
    assertErrorAnswer(await u.send('start', { otp: wrongCode(codes, 2) }), 200, 'INVALID_OTP');
    const third = await u.send('start', { otp: codes[0] });
    assertErrorAnswer(third, 429, 'RATE_LIMITED');
    const retry = Number(third.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${third.headers['retry-after']}`);
    assert.equal(third.body.retry_after, retry);
    assert.equal(eventsOf(h, 'WEB_100019').length, 0, 'the right code was not evaluated');

    // The destination's send budget (1 a minute) was spent through app h; app g on the same Redis refuses the next send.
    const g = await onRedis({ rate_limits: { sends_per_destination_per_minute: 1 } }, h.prefix);
    const limited = await firstGet(await session(g, { username: 'bob', mobile: ALICE_MOBILE }));
    assertErrorAnswer(limited, 429, 'RATE_LIMITED');
    const r2 = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(r2) && r2 >= 1 && r2 <= 60, `Retry-After ${limited.headers['retry-after']}`);
    assert.equal(outboxCount(g), 0, 'nothing sent by the second app');
    const rl = await ctx.client.keys(`${h.prefix}rl:*sends_per_destination_per_minute*`);
    assert.ok(rl.length >= 1, 'the send limit is a Redis key');
  });

  it('resend cooldown: a resend inside it answers RESEND_TOO_SOON (429) with Retry-After, on another app too; after it a resend sends', async function () {
    this.timeout(10_000);
    const h = await onRedis({ resend_cooldown_seconds: 2 });
    const u = await browser(h);
    const early = await u.send(h, 'resend');
    assertErrorAnswer(early, 429, 'RESEND_TOO_SOON');
    assert.ok([1, 2].includes(early.body.retry_after), `retry_after ${early.body.retry_after}`);
    assert.equal(early.headers['retry-after'], String(early.body.retry_after));
    assert.equal(outboxCount(h), 1);
    // The cooldown belongs to the transaction, in Redis: another app on the same Redis, same session, refuses too.
    const g = await onRedis({ resend_cooldown_seconds: 2 }, h.prefix);
    assertErrorAnswer(await u.send(g, 'resend'), 429, 'RESEND_TOO_SOON');
    assert.equal(outboxCount(h) + outboxCount(g), 1);
    await sleep(2100);
    const later = await u.send(g, 'resend');
    assert.equal(later.status, 200, later.text);
    assert.equal(later.body.status, 'PENDING');
    assert.equal(later.body.codes_left, 1);
    assert.equal(outboxCount(g), 1, 'the resend went out through the second app');
    const done = await u.send(h, 'start', { otp: h.codes(ALICE_MOBILE)[0] });
    assert.equal(done.body.status, 'COMPLETED', 'the earlier code still works after a resend (keep_previous)');
  });
});
