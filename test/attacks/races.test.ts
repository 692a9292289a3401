import assert from 'node:assert/strict';
import supertest, { type Response } from 'supertest';
import { ALICE, answerKind, countBy, eventsOf, outboxCount, parallel, session, wrongCode } from '../support/otp-api.js';
import { otpHarness, type Harness } from '../support/otp-harness.js';
import { describeRedis } from '../support/redis.js';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import type { TransactionStore } from '../../src/store/types.js';

// Issue 13, attack 2: races (TOCTOU). Many requests at once on one transaction or one subject, on the memory store
// and on Redis. SPEC section 7: every check-and-count is one atomic step. Already proven elsewhere, not repeated:
// - 200 parallel wrong entries evaluate exactly allowed_otp_retry + 1, the right code 50 times completes once, right
//   and wrong mixed: test/http/otp.parallel-entries.test.ts (memory), test/redis/api.on-redis.test.ts (Redis);
// - 20 parallel resends send max_codes: test/http/otp.parallel-entries.test.ts (memory; Redis below);
// - 500 wrong entries / 100 right ones over two processes on one Redis: test/redis/two-processes.test.ts.

const OPEN_SENDS = { sends_per_destination_per_minute: 1000, sends_per_ip_per_hour: 1000 };

type Make = (otpConfig: Record<string, unknown>) => Promise<Harness>;

/** The same race tests on each store. */
function raceTests(make: Make): void {
  it('30 parallel first GETs of one session open one transaction and send one code', async () => {
    const h = await make({ rate_limits: OPEN_SENDS });
    const s = await session(h, ALICE);
    const answers = await parallel(30, () => s.get());
    for (const res of answers) assert.ok(res.status < 500, `${res.status} ${res.text}`);
    assert.ok(answers.every((r) => r.status === 200 && r.body.status === 'PENDING'), JSON.stringify(countBy(answers, (r) => `${r.status} ${answerKind(r)}`)));
    assert.equal(eventsOf(h, 'OTP_200001').length, 1, 'one transaction opened');
    assert.equal(outboxCount(h), 1, 'one code sent');
    assert.equal(eventsOf(h, 'OTP_200002').length, 1);
  });

  it('30 parallel init of one session send one code', async () => {
    const h = await make({ rate_limits: OPEN_SENDS });
    const u = await h.user();
    const answers = await parallel(30, () => u.send('init'));
    assert.ok(answers.every((r) => r.status === 200 && r.body.status === 'PENDING'), JSON.stringify(countBy(answers, answerKind)));
    assert.equal(outboxCount(h), 1);
  });

  it('20 parallel resends (cooldown 0) send max_codes in all (outbox lines counted)', async () => {
    const h = await make({ resend_cooldown_seconds: 0, rate_limits: OPEN_SENDS });
    const u = await h.user();
    const answers = await parallel(20, () => u.send('resend'));
    const kinds = countBy(answers, answerKind);
    assert.deepEqual(kinds, { PENDING: 2, MAX_CODES: 18 });
    assert.equal(outboxCount(h), 3);
  });

  it('20 parallel resends inside the cooldown send nothing more', async () => {
    const h = await make({ resend_cooldown_seconds: 30, rate_limits: OPEN_SENDS });
    const u = await h.user();
    const answers = await parallel(20, () => u.send('resend'));
    assert.deepEqual(countBy(answers, answerKind), { RESEND_TOO_SOON: 20 });
    assert.equal(outboxCount(h), 1);
  });

  it('20 parallel change_destination to 20 numbers never pass max_changes (2): at most 2 changes sent', async () => {
    const h = await make({ max_codes: 10, resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 2 }, rate_limits: OPEN_SENDS });
    const u = await h.user();
    const numbers = Array.from({ length: 20 }, (_, i) => `+4670${String(2000000 + i * 1111).padStart(7, '0')}`);
    const answers = await parallel(20, (i) => u.send('change_destination', { destination: numbers[i] }));
    const kinds = countBy(answers, answerKind);
    for (const res of answers) assert.ok(res.status < 500, res.text);
    assert.ok((kinds.PENDING ?? 0) <= 2, JSON.stringify(kinds));
    assert.equal((kinds.PENDING ?? 0) + (kinds.MAX_CHANGES ?? 0), 20, JSON.stringify(kinds));
    const changed = outboxCount(h) - 1;
    assert.equal(changed, kinds.PENDING ?? 0, 'one message per granted change, none for a refused one');
    const status = (await u.send('status')).body;
    assert.ok(status.report.properties.phone_number_changes <= 2, JSON.stringify(status.report.properties));
    assert.equal(status.report.properties.codes_sent, outboxCount(h));
  });

  it('20 parallel change_destination never pass max_codes (3): the first code plus at most 2', async () => {
    const h = await make({ max_codes: 3, resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 10 }, rate_limits: OPEN_SENDS });
    const u = await h.user();
    const answers = await parallel(20, (i) => u.send('change_destination', { destination: `+4673${String(3000000 + i * 1313).padStart(7, '0')}` }));
    const kinds = countBy(answers, answerKind);
    assert.ok((kinds.PENDING ?? 0) <= 2, JSON.stringify(kinds));
    assert.equal((kinds.PENDING ?? 0) + (kinds.MAX_CODES ?? 0), 20, JSON.stringify(kinds));
    assert.ok(outboxCount(h) <= 3, `${outboxCount(h)} codes sent`);
    assert.equal((await u.send('status')).body.report.properties.codes_sent, outboxCount(h));
  });

  it('resends and changes in parallel together never pass max_codes (4)', async () => {
    const h = await make({ max_codes: 4, resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 10 }, rate_limits: OPEN_SENDS });
    const u = await h.user();
    const answers = await parallel(30, (i) => (i % 2 === 0 ? u.send('resend') : u.send('change_destination', { destination: `+4676${String(4000000 + i * 1717).padStart(7, '0')}` })));
    for (const res of answers) assert.ok(res.status < 500, res.text);
    assert.equal(countBy(answers, answerKind).PENDING, 3, JSON.stringify(countBy(answers, answerKind)));
    assert.equal(outboxCount(h), 4);
  });

  it('wrong entries from 10 sessions of one subject at once never evaluate past failures_per_subject_per_hour (5)', async () => {
    const h = await make({ lockout_seconds: 0, rate_limits: { ...OPEN_SENDS, entries_per_transaction_per_minute: 1000, failures_per_subject_per_hour: 5 } });
    const users: Awaited<ReturnType<Harness['user']>>[] = [];
    for (let i = 0; i < 10; i += 1) users.push(await h.user());
    const codes = h.codes();
    const answers = await parallel(50, (i) => users[i % 10]!.send('start', { otp: wrongCode(codes, i) }));
    for (const res of answers) assert.ok(res.status < 500, res.text);
    const during = eventsOf(h, 'WEB_100020').length;
    assert.ok(during >= 1 && during <= 5, `evaluated ${during}: ${JSON.stringify(countBy(answers, answerKind))}`);
    // An entry that held a failure point and then found no attempt left gives the point back, so the budget may
    // not be used up yet: sequential guesses in fresh sessions take it to exactly 5, never past.
    for (let i = 0; i < 10; i += 1) {
      const u = await h.user();
      await u.send('start', { otp: wrongCode(h.codes(), 100 + i) });
    }
    assert.equal(eventsOf(h, 'WEB_100020').length, 5);
  });

  it('the right code and cancel in parallel: the transaction ends one way, and the answers agree with it', async () => {
    const h = await make({ rate_limits: OPEN_SENDS });
    const u = await h.user();
    const code = h.codes().at(-1)!;
    const answers = await parallel(20, (i) => (i % 2 === 0 ? u.send('start', { otp: code }) : u.send('cancel')));
    const kinds = countBy(answers, answerKind);
    const final = (await u.send('status')).body.status;
    if (final === 'COMPLETED') {
      assert.equal(kinds.COMPLETED, 1, JSON.stringify(kinds));
      assert.equal(kinds.CANCELLED ?? 0, 0, `completed and cancelled both answered: ${JSON.stringify(kinds)}`);
      assert.equal(eventsOf(h, 'OTP_200012').length, 0);
    } else {
      assert.equal(final, 'CANCELLED');
      assert.equal(kinds.COMPLETED ?? 0, 0, `cancelled, yet a COMPLETED was answered: ${JSON.stringify(kinds)}`);
      assert.equal(eventsOf(h, 'WEB_100019').length, 0);
      assert.equal(eventsOf(h, 'OTP_200012').length, 1);
    }
  });

  it('two sessions abort at once: the subject ends locked, and neither session gets more than its three evaluations', async () => {
    const h = await make({ rate_limits: { ...OPEN_SENDS, failures_per_subject_per_hour: 100, entries_per_transaction_per_minute: 1000 } });
    const a = await h.user();
    const b = await h.user();
    const codes = h.codes();
    const answers = await parallel(40, (i) => (i % 2 === 0 ? a : b).send('start', { otp: wrongCode(codes, i) }));
    for (const res of answers) assert.ok(res.status < 500, res.text);
    const evaluated = eventsOf(h, 'WEB_100020').length;
    assert.ok(evaluated <= 6, `evaluated ${evaluated}`);
    assert.ok(eventsOf(h, 'OTP_200008').length <= 2);
    const c = await session(h, ALICE);
    assert.equal((await c.get()).status, 423, 'the subject is locked');
  });
}

/** Harnesses made by a test, closed after it. */
function harnesses(make: (otpConfig: Record<string, unknown>) => Promise<Harness>): Make {
  const open: Harness[] = [];
  afterEach(async () => { for (const h of open.splice(0)) await h.close(); });
  return async (otpConfig) => {
    const h = await make(otpConfig);
    open.push(h);
    return h;
  };
}

describe('attack: races on the memory store', function () {
  this.timeout(20_000);
  raceTests(harnesses((c) => otpHarness(c)));
});

/**
 * A memory store that holds every `reserveSend` until `open` has been called twice: the worst interleaving of two
 * first GETs of one session (both open the transaction before either reserves its first send), made certain.
 */
function storeOpeningTwiceBeforeSending(): TransactionStore {
  const inner = new MemoryTransactionStore();
  let opens = 0;
  let release = () => {};
  const bothOpened = new Promise<void>((resolve) => { release = resolve; });
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      if (prop === 'open') return async (...args: unknown[]) => { const r = await fn.apply(target, args); opens += 1; if (opens === 2) release(); return r; };
      if (prop === 'reserveSend') return async (...args: unknown[]) => { await Promise.race([bothOpened, new Promise((r) => setTimeout(r, 2000))]); return fn.apply(target, args); };
      return fn.bind(target);
    },
  }) as TransactionStore;
}

describe('attack: two first GETs of one session at the worst moment (deterministic interleaving, memory store)', () => {
  it('both show PENDING (SPEC 3: GET on a PENDING transaction shows it), and one code is sent', async () => {
    const h = await otpHarness({}, { store: storeOpeningTwiceBeforeSending() });
    try {
      const s = await session(h, ALICE);
      const answers = await parallel(2, () => s.get());
      assert.equal(eventsOf(h, 'OTP_200001').length, 1, 'one transaction');
      assert.equal(outboxCount(h), 1, 'one code sent');
      assert.deepEqual(answers.map((r) => `${r.status} ${answerKind(r)}`), ['200 PENDING', '200 PENDING'],
        'the GET that finds the first send already reserved by the other must show the transaction, not answer NO_PENDING_CODE');
    } finally {
      await h.close();
    }
  });
});

describeRedis('attack: races on the Redis store', (ctx) => {
  let n = 0;
  raceTests(harnesses((c) => otpHarness(c, {}, { store: { type: 'redis', url: ctx.url, prefix: `${ctx.prefix}${(n += 1)}:` } })));

  it('two apps on one Redis (two processes, in effect): 40 parallel first GETs of one session over both open one transaction', async function () {
    this.timeout(20_000);
    const prefix = `${ctx.prefix}two:`;
    const a = await otpHarness({}, {}, { store: { type: 'redis', url: ctx.url, prefix } });
    const b = await otpHarness({}, {}, { store: { type: 'redis', url: ctx.url, prefix } });
    try {
      const exp = await supertest(a.app).post('/test/exports').send(ALICE).expect(200);
      const cookie = String(exp.headers['set-cookie']).split(';')[0]!;
      const answers: Response[] = await Promise.all(Array.from({ length: 40 }, (_, i) =>
        supertest((i % 2 === 0 ? a : b).app).get('/authn/otp').set('Accept', 'application/json').set('Cookie', cookie).then((r) => r)));
      for (const res of answers) assert.ok(res.status < 500, res.text);
      // The event bus is one per process: either harness sees the events of both apps.
      assert.equal(eventsOf(a, 'OTP_200001').length, 1, 'one transaction over both apps');
      assert.equal(outboxCount(a) + outboxCount(b), 1, 'one code sent, by one of the two apps');
      assert.equal((await ctx.client.keys(`${prefix}tx:*`)).length, 1);
      // SPEC 3: GET on a PENDING transaction shows it (200), whoever is sending its first code.
      const kinds = countBy(answers, (r) => `${r.status} ${answerKind(r)}`);
      assert.deepEqual(kinds, { '200 PENDING': 40 }, 'a GET that meets another first send in flight must show PENDING, not an error');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
