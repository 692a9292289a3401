import assert from 'node:assert/strict';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { demoHarness, tokenFor } from '../support/demo-harness.js';
import { credentialDump } from '../support/test-store.js';

/** The text of an element escaped by escapeHtml (src/web/html.ts). */
const decodeEntities = (html: string): string =>
  html.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Issue 22: recovery codes made at /authn/recovery-codes (signed in), redeemed through the login's selector. */
type Agent = ReturnType<typeof request.agent>;

describe('recovery codes: made once, shown once, each works once (demo)', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => { demo = await demoHarness(); stop = onEvent((e) => events.push(e)); });
  after(async () => { stop(); delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  async function password(agent: Agent, user: string, pw: string) {
    const token = await tokenFor(agent, '/authn/password');
    await agent.post('/authn/password').set('X-CSRF-Token', token).send({ type: 'start', data: { identifier: user, password: pw } }).expect(200);
  }
  async function signIn(agent: Agent, user: string, pw: string, to: string) {
    await password(agent, user, pw);
    const otp = await agent.get('/authn/method/otp').set('Accept', 'application/json').expect(200);
    await agent.post('/authn/method/otp').set('X-CSRF-Token', otp.body.csrf_token).send({ type: 'start', data: { otp: demo.lastCode(to) } }).expect(200);
  }
  async function makeCodes(agent: Agent): Promise<string[]> {
    const page = await agent.get('/authn/recovery-codes').set('Accept', 'application/json').expect(200);
    const res = await agent.post('/authn/recovery-codes').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'generate' }).expect(200);
    assert.equal(res.headers['cache-control'], 'no-store');
    return res.body.codes as string[];
  }
  async function redeem(user: string, pw: string, code: string) {
    const agent = request.agent(demo.app);
    await password(agent, user, pw);
    const page = await agent.get('/authn/method/recovery').set('Accept', 'application/json');
    if (page.status !== 200) return page;
    return agent.post('/authn/method/recovery').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: code } });
  }

  it('only a signed-in user makes them; a new set of ten codes of ten symbols, shown once, kept as keyed hashes', async () => {
    await request(demo.app).get('/authn/recovery-codes').set('Accept', 'application/json').expect(401);
    const agent = request.agent(demo.app);
    await signIn(agent, 'bob', 'builder', '+447400123456');
    const before = await agent.get('/authn/recovery-codes').set('Accept', 'application/json').expect(200);
    assert.deepEqual({ status: before.body.status, codes_left: before.body.codes_left }, { status: 'READY', codes_left: 0 });
    events.length = 0;
    const codes = await makeCodes(agent);
    assert.equal(codes.length, 10);
    for (const c of codes) assert.match(c, /^[23456789A-HJ-NP-Z]{5}-[23456789A-HJ-NP-Z]{5}$/);
    assert.equal(new Set(codes).size, 10);
    assert.equal(events.filter((e) => e.event_id === 'OTP_200018' && e.CUSTOMER_IDENTIFIER === 'bob').length, 1);
    assert.ok(!events.some((e) => JSON.stringify(e).includes(codes[0]!.replace('-', ''))), 'no code in an event');
    const dump = await credentialDump(demo.authn);
    for (const c of codes) assert.ok(!dump.includes(c.replace('-', '')) && !dump.includes(c), 'only keyed hashes are kept');
    assert.equal((await agent.get('/authn/recovery-codes').set('Accept', 'application/json')).body.codes_left, 10);
    const page = await agent.get('/authn/recovery-codes').expect(200);
    assert.doesNotMatch(page.text, new RegExp(codes[0]!), 'shown once: never again');
    for (const bad of [{ type: 'generate', data: {} }, { type: 'make' }, {}]) {
      await agent.post('/authn/recovery-codes').set('X-CSRF-Token', before.body.csrf_token).send(bad).expect(400);
    }
    await agent.post('/authn/recovery-codes').set('X-CSRF-Token', 'forged').send({ type: 'generate' }).expect(403);
  });

  it('the login offers the recovery-code choice only to a user with codes; a code works once, typed any way; a new set replaces the old at once', async () => {
    const carol = request.agent(demo.app);
    await password(carol, 'carol', 'bletchley');
    assert.deepEqual((await carol.get('/authn/method?choose=1').set('Accept', 'application/json')).body.choices.map((c: { id: string }) => c.id), ['otp']);
    await carol.get('/authn/method/recovery').set('Accept', 'application/json').expect(404);

    const alice = request.agent(demo.app);
    await signIn(alice, 'alice', 'wonderland', '+46701234567');
    const codes = await makeCodes(alice);
    const list = request.agent(demo.app);
    await password(list, 'alice', 'wonderland');
    const offered = (await list.get('/authn/method?choose=1').set('Accept', 'application/json')).body.choices;
    assert.deepEqual(offered.at(-1), { id: 'recovery', label: 'Recovery code', channel: 'recovery', destination: null });

    events.length = 0;
    const typed = ` ${codes[0]!.toLowerCase().replace('-', ' ')} `;
    const first = await redeem('alice', 'wonderland', typed);
    assert.deepEqual(first.body, { status: 'COMPLETED', location: '/account', recovery_codes_left: 9 }, 'the answer says how many are left');
    const used = events.find((e) => e.event_id === 'OTP_200019');
    assert.equal(used?.codes_left, 9);
    const again = await redeem('alice', 'wonderland', codes[0]!);
    assert.equal(again.body.error.code, 'INVALID_OTP', 'single use');
    const fresh = await makeCodes(alice);
    const old = await redeem('alice', 'wonderland', codes[1]!);
    assert.equal(old.body.error.code, 'INVALID_OTP', 'the old set is gone');
    const agent = request.agent(demo.app);
    await password(agent, 'alice', 'wonderland');
    const page = await agent.get('/authn/method/recovery').set('Accept', 'application/json').expect(200);
    const last = await agent.post('/authn/method/recovery').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: fresh[0] } });
    assert.deepEqual(last.body, { status: 'COMPLETED', location: '/account', recovery_codes_left: 9 });
    const account = await agent.get('/account').expect(200);
    const report = JSON.parse(decodeEntities(/<pre id="otp-report">([\s\S]*?)<\/pre>/.exec(account.text)![1]!));
    assert.deepEqual([report.action, report.properties.recovery_codes_left, report.properties.recovery_codes_low], ['PASS', 9, false], 'the report says how many are left');
    assert.doesNotMatch(account.text, /id="recovery-codes-low"/, 'no warning with 9 left');
    assert.match(account.text, /<span id="recovery-codes-left">\(You have 9 recovery codes left\.\)<\/span>/, '/account says how many are left');
    assert.match(account.text, /<p id="otp-method">recovery<\/p>/);
  });

  it('at 2 codes left or fewer each use also logs OTP_200020; wrong entries count like any code (3, then the selector is locked)', async () => {
    const bob = request.agent(demo.app);
    await signIn(bob, 'bob', 'builder', '+447400123456');
    const codes = await makeCodes(bob);
    events.length = 0;
    for (const c of codes.slice(0, 7)) assert.equal((await redeem('bob', 'builder', c)).body.status, 'COMPLETED');
    assert.deepEqual(events.filter((e) => e.event_id === 'OTP_200020'), [], 'no warning with 3 left');
    const low = request.agent(demo.app);
    await password(low, 'bob', 'builder');
    const form = await low.get('/authn/method/recovery').set('Accept', 'application/json').expect(200);
    const eighth = await low.post('/authn/method/recovery').set('X-CSRF-Token', form.body.csrf_token).send({ type: 'start', data: { otp: codes[7] } });
    assert.deepEqual(eighth.body, { status: 'COMPLETED', location: '/account', recovery_codes_left: 2 });
    assert.deepEqual(events.filter((e) => e.event_id === 'OTP_200020').map((e) => e.codes_left), [2]);
    const validated = events.filter((e) => e.event_id === 'WEB_100019').at(-1) as { report?: { properties?: Record<string, unknown> } };
    assert.deepEqual([validated.report?.properties?.recovery_codes_left, validated.report?.properties?.recovery_codes_low], [2, true], 'the event report says so');
    const account = await low.get('/account').expect(200);
    const report = JSON.parse(decodeEntities(/<pre id="otp-report">([\s\S]*?)<\/pre>/.exec(account.text)![1]!));
    assert.equal(report.properties.recovery_codes_low, true, 'the report says so');
    assert.match(account.text, /<p id="recovery-codes-low" class="error">Only 2 recovery codes are left: make new ones soon\.<\/p>/);

    const agent = request.agent(demo.app);
    await password(agent, 'bob', 'builder');
    const page = await agent.get('/authn/method/recovery').set('Accept', 'application/json').expect(200);
    let last: request.Response | undefined;
    for (let i = 0; i < 3; i += 1) last = await agent.post('/authn/method/recovery').set('X-CSRF-Token', page.body.csrf_token).send({ type: 'start', data: { otp: 'AAAAABBBBB' } });
    assert.equal(last?.body.error.code, 'MAX_ATTEMPTS');
    const locked = await redeem('bob', 'builder', codes[8]!);
    assert.equal(locked.status, 423, 'an abort in the recovery choice locks the selector');
    assert.ok(await demo.authn.store.unlock('method', 'bob'));
    assert.equal((await redeem('bob', 'builder', codes[8]!)).body.status, 'COMPLETED', 'the code was not used by the refusal');
  });

  it('100 parallel submissions of one code: exactly one completes', async () => {
    const alice = request.agent(demo.app);
    await signIn(alice, 'alice', 'wonderland', '+46701234567');
    const [code] = await makeCodes(alice);
    const sessions = await Promise.all(Array.from({ length: 100 }, async () => {
      const agent = request.agent(demo.app);
      await password(agent, 'alice', 'wonderland');
      const page = await agent.get('/authn/method/recovery').set('Accept', 'application/json');
      return { agent, token: page.body.csrf_token as string };
    }));
    events.length = 0;
    const answers = await Promise.all(sessions.map((s) => s.agent.post('/authn/method/recovery').set('X-CSRF-Token', s.token).send({ type: 'start', data: { otp: code } })));
    assert.equal(answers.filter((a) => a.body.status === 'COMPLETED').length, 1);
    assert.equal(events.filter((e) => e.event_id === 'OTP_200019').length, 1);
    await demo.authn.store.unlock('method', 'alice');
  });
});
