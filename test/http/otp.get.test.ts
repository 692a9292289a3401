import assert from 'node:assert/strict';
import { ALICE, ALICE_MASKED, ALICE_MOBILE, assertErrorAnswer, eventsOf, firstGet, harnessPerTest, outboxCount, session, wrongCode } from '../support/otp-api.js';
import type { Harness } from '../support/otp-harness.js';

async function abortAlice(h: Harness): Promise<void> {
  const u = await h.user();
  for (let i = 1; i <= 3; i += 1) await u.send('start', { otp: wrongCode(h.codes(), i) }).expect(200);
}

describe('OTP API: GET', () => {
  const h = harnessPerTest();

  it('with Accept: application/json answers the status answer plus csrf_token, and sends the first code', async () => {
    const s = await session(h());
    const res = await s.get().expect(200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.body.status, 'PENDING');
    assert.equal(res.body.destination, ALICE_MASKED);
    assert.equal(res.body.attempts_left, 3);
    assert.equal(res.body.codes_left, 2);
    assert.equal(res.body.report?.status, 'pending');
    assert.match(res.body.csrf_token, /^\S{16,}$/);
    assert.equal(h().codes(ALICE_MOBILE).length, 1);
    assert.equal(eventsOf(h(), 'OTP_200002').length, 1);
    // the token works for the next POST
    s.csrf = res.body.csrf_token;
    await s.send('init').expect(200);
  });

  it('a reload sends no other code (JSON and HTML alike)', async () => {
    const u = await h().user();
    await u.get().expect(200);
    await u.get('text/html').expect(200);
    const again = await u.get().expect(200);
    assert.equal(again.body.status, 'PENDING');
    assert.equal(outboxCount(h()), 1);
    assert.equal(eventsOf(h(), 'OTP_200002').length, 1);
  });

  it('the HTML page carries the CSRF token', async () => {
    const u = await h().user();
    const page = await u.get('text/html').expect(200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.ok(page.text.includes(`<meta name="csrf-token" content="${u.csrf}">`), 'the meta tag holds the session token');
  });

  it('without exports in the session answers NOT_IN_FLOW (401) as JSON', async () => {
    const s = await session(h(), null);
    const res = await s.get();
    assertErrorAnswer(res, 401, 'NOT_IN_FLOW');
    assert.equal(typeof res.body.csrf_token, 'string');
    assert.equal(outboxCount(h()), 0);
  });

  it('after completion redirects (303) to the success location', async () => {
    const u = await h().user();
    await u.send('start', { otp: h().codes()[0] }).expect(200);
    const res = await u.get().expect(303);
    assert.equal(res.headers.location, '/account');
    assert.equal(outboxCount(h()), 1);
  });

  it('after an abort, the same session sees ABORTED (200) with the failure location, and nothing is sent', async () => {
    const u = await h().user();
    for (let i = 1; i <= 3; i += 1) await u.send('start', { otp: wrongCode(h().codes(), i) }).expect(200);
    const res = await u.get().expect(200);
    assert.equal(res.body.status, 'ABORTED');
    assert.equal(res.body.location, '/failed');
    assert.equal(typeof res.body.csrf_token, 'string');
    assert.equal(outboxCount(h()), 1);
  });

  it('after an abort, another session of the same subject gets LOCKED (423) with csrf_token and Retry-After; nothing is sent', async () => {
    await abortAlice(h());
    const sent = outboxCount(h());
    const s = await session(h(), ALICE);
    const res = await firstGet(s);
    assertErrorAnswer(res, 423, 'LOCKED');
    assert.equal(typeof res.body.csrf_token, 'string');
    assert.ok(res.body.csrf_token.length >= 16);
    assert.equal(res.headers['retry-after'], '600');
    assert.equal(res.body.retry_after, 600);
    assert.equal(outboxCount(h()), sent);
    assert.equal(eventsOf(h(), 'OTP_200009').length, 1);
    // init in that session is locked too, and sends nothing
    assertErrorAnswer(await s.send('init'), 423, 'LOCKED');
    assert.equal(outboxCount(h()), sent);
  });

  it('a session of the same subject opened before the abort is locked on start (check order: lockout first)', async () => {
    const other = await h().user();
    const otherCode = h().codes().at(-1)!;
    await abortAlice(h());
    const res = await other.send('start', { otp: otherCode });
    assertErrorAnswer(res, 423, 'LOCKED');
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.equal(eventsOf(h(), 'WEB_100019').length, 0);
  });

  it('another subject is not locked by alice\'s abort', async () => {
    await abortAlice(h());
    const s = await session(h(), { username: 'bob', mobile: '+46701112233' });
    const res = await firstGet(s);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'PENDING');
    assert.equal(h().codes('+46701112233').length, 1);
  });

  it('parallel first GETs of one session open one transaction, send one code, and all answer PENDING', async () => {
    const s = await session(h());
    const answers = await Promise.all(Array.from({ length: 10 }, () => s.get()));
    assert.deepEqual(answers.map((r) => `${r.status} ${r.body.status}`), Array(10).fill('200 PENDING'));
    assert.equal(outboxCount(h()), 1);
    assert.equal(eventsOf(h(), 'OTP_200001').length, 1);
  });
});

describe('OTP GET: HEAD sends nothing', () => {
  it('a HEAD request (a link prefetcher, a monitor) answers 405 and no code is sent', async () => {
    const { otpHarness } = await import('../support/otp-harness.js');
    const h = await otpHarness();
    try {
      const request = (await import('supertest')).default;
      const agent = request.agent(h.app);
      await agent.post('/test/exports').send({ username: 'alice', mobile: '+46701234567' }).expect(200);
      await agent.head('/authn/otp').expect(405);
      assert.equal(h.codes().length, 0);
    } finally {
      await h.close();
    }
  });
});
