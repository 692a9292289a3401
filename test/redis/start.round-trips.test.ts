import assert from 'node:assert/strict';
import { RedisStore } from 'connect-redis';
import request from 'supertest';
import { RedisRateLimits } from '../../src/limits/redis-rate-limits.js';
import { RedisTransactionStore } from '../../src/store/redis-store.js';
import { OTP_PATH, otpHarness, type Harness } from '../support/otp-harness.js';
import { ALICE, ALICE_MOBILE, wrongCode } from '../support/otp-api.js';
import { describeRedis } from '../support/redis.js';
import { countingClient, type CountingClient } from './counting-client.js';

// SPEC section 7: "a `start` costs at most 3 round trips including the session (the session is not saved when
// unchanged)". The whole app (sessions by connect-redis, transactions, rate limits) on one counting connection,
// wired as docs/deployment.md shows; one wrong-code `start` over HTTP is counted: session load + reserveEntry +
// recordEntry = 3.

describeRedis('issue 10: round trips of one `start` over HTTP', (ctx) => {
  let counting: CountingClient;
  let h: Harness;
  let n = 0;

  beforeEach(async () => {
    n += 1;
    const prefix = `${ctx.prefix}${n}:`;
    counting = countingClient(ctx.client);
    const store = new RedisTransactionStore(counting.client, { prefix });
    h = await otpHarness({}, {
      store,
      limits: (id, c) => new RedisRateLimits(counting.client, id, c.rate_limits, { prefix }),
      sessionStore: new RedisStore({ client: counting.client, prefix: `${prefix}sess:`, disableTouch: true }),
    });
  });

  afterEach(async () => { await h.close(); });

  async function counted(step: () => Promise<request.Response>): Promise<{ res: request.Response; calls: string[] }> {
    counting.reset();
    const res = await step();
    return { res, calls: [...counting.calls] };
  }

  it('the wiring is the counted one: loading a page reads the session and the transaction through the counting connection', async () => {
    const agent = request.agent(h.app);
    await agent.post('/test/exports').send(ALICE).expect(200);
    const { res, calls } = await counted(() => agent.get(OTP_PATH).set('Accept', 'application/json'));
    assert.equal(res.body.status, 'PENDING', res.text);
    assert.ok(calls.includes('get'), `the session load is counted: ${calls.join(', ')}`);
    assert.ok(calls.filter((c) => c === 'evalSha').length >= 1, `the store's scripts are counted: ${calls.join(', ')}`);
    assert.ok(calls.length >= 3, `first GET: ${calls.join(', ')}`);
  });

  it('one wrong-code start: at most 3 round trips (session load, reserveEntry, recordEntry)', async () => {
    const agent = request.agent(h.app);
    await agent.post('/test/exports').send(ALICE).expect(200);
    const page = await agent.get(OTP_PATH).set('Accept', 'application/json').expect(200);
    const csrf = page.body.csrf_token as string;
    const codes = h.codes(ALICE_MOBILE);
    // A warm-up entry: the first use of each script after a fresh Redis may cost a NOSCRIPT retry.
    await agent.post(OTP_PATH).set('X-CSRF-Token', csrf).send({ type: 'start', data: { otp: wrongCode(codes, 1) } }).expect(200);
    const { res, calls } = await counted(() => agent.post(OTP_PATH).set('X-CSRF-Token', csrf).send({ type: 'start', data: { otp: wrongCode(codes, 2) } }));
    assert.equal(res.body.error?.code, 'INVALID_OTP', res.text);
    assert.equal(res.body.attempts_left, 1);
    if (process.env.SHOW_ROUND_TRIPS) console.log(`    wrong-code start: ${calls.length} round trips: ${calls.join(', ')}`);
    assert.ok(calls.length <= 3, `${calls.length} round trips: ${calls.join(', ')}`);
    assert.deepEqual(calls, ['get', 'evalSha', 'evalSha'], 'session load, reserveEntry, recordEntry');
  });

  it('the right-code start that completes: the two atomic steps plus the session (saved, since it changed)', async () => {
    const agent = request.agent(h.app);
    await agent.post('/test/exports').send(ALICE).expect(200);
    const page = await agent.get(OTP_PATH).set('Accept', 'application/json').expect(200);
    const { res, calls } = await counted(() => agent.post(OTP_PATH).set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: h.codes(ALICE_MOBILE)[0] } }));
    assert.equal(res.body.status, 'COMPLETED', res.text);
    if (process.env.SHOW_ROUND_TRIPS) console.log(`    right-code start: ${calls.length} round trips: ${calls.join(', ')}`);
    assert.equal(calls.filter((c) => c === 'evalSha' || c === 'eval').length, 2, `reserveEntry + recordEntry: ${calls.join(', ')}`);
    assert.equal(calls[0], 'get', 'the session load comes first');
  });
});
