import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { demoHarness } from '../support/demo-harness.js';
import { demoVariant } from '../support/demo-variant.js';

/**
 * Issue 24: PhoneMatch's own two calls on the demo (/api/verify/compat/phonematch), with the reference's literal
 * example bodies (the phone 2015106000, read with the US as the default country on that route; the message
 * `Hello {fn}, your one-time password is {pin}`); the voice channel and a request's own message on v1 too.
 */
const BASE = '/api/verify/compat/phonematch';
const example = (over: Record<string, unknown> = {}) => ({
  user: 'demo', pass: 'demo-secret', service: 'PhoneMatch5.0.SMS', reference: '12345',
  options: { outofband: { message: 'Hello {fn}, your one-time password is {pin}' } },
  target: { fn: 'John', ln: 'Smith', phone: '2015106000' },
  ...over,
});
type OutboxLine = { channel: string; to: string; text: string };

describe('verification API: PhoneMatch compatibility (/compat/phonematch/process/...)', () => {
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  const events: EventRecord[] = [];
  let stop: () => void;
  before(async () => { stop = onEvent((e) => events.push(e)); demo = await demoHarness(); });
  after(async () => { stop(); delete process.env.OUTBOX_FILE; await demo.authn.close(); });

  const gateway = (body: unknown) => request(demo.app).post(`${BASE}/process/comprehensive/gateway`).send(body as object);
  const proceed = (body: unknown) => request(demo.app).post(`${BASE}/process/continue`).send(body as object);
  const outbox = (to: string): OutboxLine[] => readFileSync(demo.outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as OutboxLine).filter((m) => m.to === to);
  const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)?.[1] ?? '';

  it('the reference\'s example: PENDING with a continuation template; the SMS says Hello John; the template sent back with the code: PASS', async () => {
    events.length = 0;
    const sent = await gateway(example()).expect(200);
    assert.deepEqual(sent.body.result, { action: 'PENDING', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION', issues: [] });
    assert.equal(sent.body.meta.reference, '12345');
    assert.equal(sent.body.meta.service, 'PhoneMatch5.0.SMS');
    assert.equal(sent.body.meta.user, 'demo');
    assert.match(sent.body.meta.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const continuation = sent.body.continuations.outofband;
    assert.equal(continuation.url, '/process/continue');
    assert.deepEqual(Object.keys(continuation.template).sort(), ['codematch', 'token']);
    assert.equal(continuation.template.codematch.key, null);
    assert.match(continuation.template.token, /^pm\.demo\./);
    assert.equal(sent.body.output.outofband.to, '+1 20**** **00', 'masked');

    const message = outbox('+12015106000').at(-1)!;
    assert.equal(message.channel, 'sms');
    const code = codeIn(message.text);
    assert.equal(message.text, `Hello John, your one-time password is ${code}`);

    const template = { ...continuation.template, codematch: { key: code } };
    const passed = await proceed(template).expect(200);
    assert.deepEqual(passed.body.result, { action: 'PASS', detail: 'ALL CHECKS PASSED', issues: [] });
    assert.equal(passed.body.output.outofband.attempt_count, 1);
    const validated = events.filter((e) => e.event_id === 'WEB_100019');
    assert.equal(validated.length, 1);
    assert.equal(validated[0]!.CUSTOMER_IDENTIFIER, 'demo', 'no subject: the key id');
    assert.ok(!JSON.stringify(events).includes(code), 'no code in any event');

    const again = await proceed(template);
    assert.equal(again.status, 409, 'single use');
    assert.equal(again.body.error.code, 'NO_PENDING_CODE');

    // The same verification on v1: the token's sealed part is the v1 id's.
    const id = `vf.${continuation.template.token.split('.').slice(2).join('.')}`;
    const report = await request(demo.app).get(`/api/verify/v1/verifications/${id}`).set('Authorization', 'Bearer demo.demo-secret').expect(200);
    assert.deepEqual([report.body.status, report.body.action, report.body.reference, report.body.properties.final_destination], ['approved', 'PASS', '12345', '+12015106000']);
  });

  it('the literal do_not_send_to_types of the reference (voip, mobile, landline) refuses the US number: FAIL, SUPPRESSED SENDING CODE, nothing sent', async () => {
    const before = outbox('+12015106000').length;
    const body = example({ options: { outofband: { message: 'Hello {fn}, your one-time password is {pin}', do_not_send_to_types: ['voip', 'mobile', 'landline'] } } });
    const refused = await gateway(body).expect(200);
    assert.deepEqual(refused.body.result, { action: 'FAIL', detail: 'SUPPRESSED SENDING CODE', issues: [] });
    assert.equal(refused.body.continuations, undefined);
    assert.equal(outbox('+12015106000').length, before);
    const onlyVoip = await gateway(example({ options: { outofband: { do_not_send_to_types: ['voip'] } } })).expect(200);
    assert.equal(onlyVoip.body.result.action, 'PENDING', 'a US number may be a mobile or a landline: refusing one of them does not refuse it');
  });

  it('the other outcomes of the initial request: DATA CHECK FAILED; a country whitelist and blacklist', async () => {
    const bad = await gateway(example({ target: { fn: 'John', phone: '123' } })).expect(200);
    assert.deepEqual(bad.body.result, { action: 'FAIL', detail: 'DATA CHECK FAILED', issues: [] });
    const white = await gateway(example({ options: { outofband: { country: { whitelist: ['SE'] } } } })).expect(200);
    assert.equal(white.body.result.detail, 'SUPPRESSED SENDING CODE');
    const black = await gateway(example({ options: { outofband: { country: { blacklist: ['US'] } } } })).expect(200);
    assert.equal(black.body.result.detail, 'SUPPRESSED SENDING CODE');
    const international = await gateway(example({ target: { fn: 'Sven', phone: '+46 70 555 12 34' } })).expect(200);
    assert.equal(international.body.result.action, 'PENDING', 'an international number is read as it is');
  });

  it('wrong entries: PENDING with the template again while attempts are left, then FAIL, FAILED OUT-OF-BAND CHECK (allowed_otp_retry 2)', async () => {
    const sent = await gateway(example({ target: { fn: 'Ann', phone: '2015550123' } })).expect(200);
    assert.equal(sent.body.result.action, 'PENDING', sent.text);
    const right = codeIn(outbox('+12015550123').at(-1)!.text);
    const wrong = right === '000000' ? '111111' : '000000';
    const template = { ...sent.body.continuations.outofband.template, codematch: { key: wrong } };
    const first = await proceed(template).expect(200);
    assert.deepEqual(first.body.result, { action: 'PENDING', detail: 'TRANSACTION REQUIRES FURTHER ATTENTION', issues: ['INVALID_OTP'] });
    assert.equal(first.body.output.outofband.attempts_left, 2);
    assert.equal(first.body.continuations.outofband.template.token, template.token);
    await proceed(template).expect(200);
    const last = await proceed(template).expect(200);
    assert.deepEqual(last.body.result, { action: 'FAIL', detail: 'FAILED OUT-OF-BAND CHECK', issues: ['MAX_ATTEMPTS'] });
    assert.equal(last.body.continuations, undefined);
    const late = await proceed({ ...template, codematch: { key: right } });
    assert.notEqual(late.body.result?.action, 'PASS', 'the right code after the abort passes nothing');
  });

  it('PhoneMatch5.0.Call: the code goes by voice (the outbox records a call)', async () => {
    const sent = await gateway(example({ service: 'PhoneMatch5.0.Call', target: { fn: 'John', phone: '2015550177' } })).expect(200);
    assert.equal(sent.body.result.action, 'PENDING');
    assert.equal(sent.body.output.outofband.channel, 'voice');
    assert.equal(outbox('+12015550177').at(-1)!.channel, 'voice');
  });

  it('credentials: a wrong pass or an unknown user is 401; a made-up or tampered token is 404; user/pass of the continuation must be the token\'s key', async () => {
    assert.equal((await gateway(example({ pass: 'wrong-secret' }))).status, 401);
    const unknown = await gateway(example({ user: 'nobody' }));
    assert.deepEqual([unknown.status, unknown.body.error.code], [401, 'UNAUTHORIZED']);
    const sent = await gateway(example({ target: { phone: '2015550188' } })).expect(200);
    const token: string = sent.body.continuations.outofband.template.token;
    for (const bad of ['pm.demo.nothing', 'vf.' + token.slice(8), token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA'), 'pm.other.' + token.slice(8)]) {
      const r = await proceed({ token: bad, codematch: { key: '123456' } });
      assert.equal(r.status, 404, `${bad}: ${r.text}`);
      assert.equal(r.body.error.code, 'NOT_FOUND');
    }
    const wrongPass = await proceed({ user: 'demo', pass: 'not-the-secret', token, codematch: { key: '123456' } });
    assert.equal(wrongPass.status, 401);
  });

  it('bad input: a 4xx with error.code, never a 5xx (malformed JSON, missing phone, unknown service, unknown fields, wrong types, a message without {pin})', async () => {
    const malformed = await request(demo.app).post(`${BASE}/process/comprehensive/gateway`).set('Content-Type', 'application/json').send('{"user": ');
    assert.deepEqual([malformed.status, malformed.body.error.code], [400, 'BAD_REQUEST']);
    const cases: unknown[] = [
      example({ target: { fn: 'John' } }),
      example({ service: 'IDMatch5.0' }),
      example({ extra: true }),
      example({ target: { phone: 2015106000 } }),
      example({ options: { outofband: { message: 'Hello {fn}, no code here' } } }),
      example({ options: { outofband: { do_not_send_to_types: ['satellite'] } } }),
      { token: 'pm.demo.x' },
      { token: 'pm.demo.x', codematch: { key: 123456 } },
    ];
    for (const body of cases) {
      const r = 'token' in (body as object) ? await proceed(body) : await gateway(body);
      assert.deepEqual([r.status, r.body.error?.code], [400, 'BAD_REQUEST'], JSON.stringify(body));
    }
    const huge = await gateway(example({ reference: 'x'.repeat(40_000) }));
    assert.equal(huge.status, 413);
  });

  it('v1: the channel voice calls; a request\'s own message carries {pin}/{fn} and needs it; without allow_message it is 403', async () => {
    const auth = 'Bearer demo.demo-secret';
    const voice = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', auth).send({ to: '+46701231100', channel: 'voice' }).expect(201);
    assert.equal(voice.body.channel, 'voice');
    assert.equal(outbox('+46701231100').at(-1)!.channel, 'voice');
    const resent = await request(demo.app).post(`/api/verify/v1/verifications/${voice.body.id}/resend`).set('Authorization', auth).send({});
    assert.ok(resent.status === 200 || resent.status === 429, resent.text);
    const own = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', auth)
      .send({ to: '+46701231101', target: { fn: 'Eva' }, message: 'Hej {fn}! Koden är {pin}.' }).expect(201);
    const text = outbox('+46701231101').at(-1)!.text;
    assert.match(text, /^Hej Eva! Koden är \d{6}\.$/);
    assert.ok(own.body.id);
    const noCode = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', auth).send({ to: '+46701231102', message: 'Hello' });
    assert.deepEqual([noCode.status, noCode.body.error.code], [400, 'BAD_REQUEST']);

    const variant = await demoVariant((c) => { c.verify_api.keys[0].allow_message = false; });
    try {
      const refused = await request(variant.app).post('/api/verify/v1/verifications').set('Authorization', auth).send({ to: '+46701231103', message: 'Code {pin}' });
      assert.deepEqual([refused.status, refused.body.error.code], [403, 'FORBIDDEN']);
      const compat = await request(variant.app).post(`${BASE}/process/comprehensive/gateway`).send(example());
      assert.deepEqual([compat.status, compat.body.error.code], [403, 'FORBIDDEN']);
    } finally {
      await variant.authn.close();
    }
  });

  it('a channel the key\'s pre-pipe cannot deliver is 422 CHANNEL_UNAVAILABLE, before anything is sent', async () => {
    const variant = await demoVariant((c) => {
      c.pipes.push({ id: 'sms-only', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'SmsSend', config: { url: 'http://127.0.0.1:9/sms' } }] });
      c.authenticators.find((a: { id: string }) => a.id === 'api-otp').config.pre_pipe_id = 'sms-only';
    });
    try {
      const voice = await request(variant.app).post('/api/verify/v1/verifications').set('Authorization', 'Bearer demo.demo-secret').send({ to: '+46701231104', channel: 'voice' });
      assert.deepEqual([voice.status, voice.body.error.code], [422, 'CHANNEL_UNAVAILABLE']);
      assert.match(voice.body.error.message, /voice/);
      const call = await request(variant.app).post(`${BASE}/process/comprehensive/gateway`).send(example({ service: 'PhoneMatch5.0.Call' }));
      assert.deepEqual([call.status, call.body.error.code], [422, 'CHANNEL_UNAVAILABLE']);
    } finally {
      await variant.authn.close();
    }
  });
});
