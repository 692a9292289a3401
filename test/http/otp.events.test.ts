import assert from 'node:assert/strict';
import type { EventRecord } from '../../src/events/catalogue.js';
import { ALICE_MASKED, ALICE_MOBILE, eventsOf, harnessPerTest, wrongCode } from '../support/otp-api.js';
import { OTP_PATH } from '../support/otp-harness.js';

function assertCommonFields(e: EventRecord, id: string, name: string): void {
  assert.equal(e.event_id, id);
  assert.equal(e.name, name);
  assert.match(String(e.IDENTIFIER), /^trace-[a-z0-9]+$/, 'IDENTIFIER is the flow trace id');
  assert.equal(e.CUSTOMER_IDENTIFIER, 'alice');
  assert.match(String(e.SOURCE_ADDRESS), /^(::ffff:)?127\.0\.0\.1$|^::1$/);
  assert.equal(e.AUTHENTICATOR_IDENTIFIER, 'otp');
  assert.equal(typeof e.timestamp, 'string');
  assert.equal(new Date(e.timestamp).toISOString(), e.timestamp, 'ISO 8601 UTC timestamp');
}

describe('OTP API: events', () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0 });

  it('WEB_100020 then WEB_100019 carry the common fields plus attempt, attempts_left and aborted', async () => {
    const u = await h().user();
    await u.send('start', { otp: wrongCode(h().codes()) }).expect(200);
    await u.send('start', { otp: h().codes()[0] }).expect(200);
    const [failed] = eventsOf(h(), 'WEB_100020');
    const validated = eventsOf(h(), 'WEB_100019');
    assert.ok(failed);
    assertCommonFields(failed, 'WEB_100020', 'OTP validation failed');
    assert.deepEqual({ attempt: failed.attempt, attempts_left: failed.attempts_left, aborted: failed.aborted }, { attempt: 1, attempts_left: 2, aborted: false });
    assert.equal(validated.length, 1);
    assertCommonFields(validated[0]!, 'WEB_100019', 'OTP validated');
    assert.deepEqual({ attempt: validated[0]!.attempt, attempts_left: validated[0]!.attempts_left, aborted: validated[0]!.aborted }, { attempt: 2, attempts_left: 2, aborted: false });
    assert.equal(failed.IDENTIFIER, validated[0]!.IDENTIFIER, 'one flow, one trace id');
  });

  it('an abort logs attempts 1, 2, 3 with attempts_left 2, 1, 0, aborted only on the last, then OTP_200008', async () => {
    const u = await h().user();
    for (let i = 1; i <= 3; i += 1) await u.send('start', { otp: wrongCode(h().codes(), i) }).expect(200);
    const failed = eventsOf(h(), 'WEB_100020');
    assert.deepEqual(failed.map((e) => [e.attempt, e.attempts_left, e.aborted]), [[1, 2, false], [2, 1, false], [3, 0, true]]);
    failed.forEach((e) => assertCommonFields(e, 'WEB_100020', 'OTP validation failed'));
    const aborted = eventsOf(h(), 'OTP_200008');
    assert.equal(aborted.length, 1);
    assertCommonFields(aborted[0]!, 'OTP_200008', 'OTP process aborted');
  });

  it('the code-sent event exists, with the masked destination and the channel', async () => {
    await h().user();
    const sent = eventsOf(h(), 'OTP_200002');
    assert.equal(sent.length, 1);
    assertCommonFields(sent[0]!, 'OTP_200002', 'OTP code sent');
    assert.equal(sent[0]!.destination, ALICE_MASKED);
    assert.equal(sent[0]!.channel, 'sms');
  });

  it('SOURCE_ADDRESS ignores X-Forwarded-For without trust_proxy', async () => {
    const u = await h().user();
    await u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('X-Forwarded-For', '203.0.113.9').send({ type: 'start', data: { otp: wrongCode(h().codes()) } }).expect(200);
    const [failed] = eventsOf(h(), 'WEB_100020');
    assert.notEqual(failed?.SOURCE_ADDRESS, '203.0.113.9');
    assert.match(String(failed?.SOURCE_ADDRESS), /127\.0\.0\.1|::1/);
  });

  it('no event holds a code (sent or entered) or the whole phone number, through every kind of request', async () => {
    const u = await h().user();
    const entered: string[] = [];
    const enter = async (otp: string, status = 200) => { entered.push(otp); await u.send('start', { otp }).expect(status); };
    await u.send('init').expect(200);
    await u.send('resend').expect(200);
    await u.send('status').expect(200);
    await enter(wrongCode(h().codes(), 11));
    await enter(h().codes()[0]!);
    await u.get().expect(303);
    await enter(h().codes()[1]!, 409);
    const v = await h().user();
    for (let i = 12; i <= 15; i += 1) entered.push(wrongCode(h().codes(), i));
    for (const otp of entered.slice(-4)) await v.send('start', { otp });
    const w = await h().user();
    await w.get().expect(423);
    await w.send('cancel');

    const codes = [...h().codes(), ...entered];
    assert.ok(h().codes().length >= 3);
    assert.ok(h().events.length >= 10, `events seen: ${h().events.length}`);
    for (const e of h().events) {
      const line = JSON.stringify(e);
      for (const code of codes) assert.ok(!line.includes(code), `${e.event_id} holds a code: ${line}`);
      assert.ok(!line.includes(ALICE_MOBILE) && !line.includes(ALICE_MOBILE.slice(1)), `${e.event_id} holds the phone number: ${line}`);
      assert.ok(!line.includes('701234567'), `${e.event_id} holds the national number: ${line}`);
      assert.ok(!line.includes('test-otp-secret') && !line.includes('test-session-secret'), `${e.event_id} holds a secret`);
    }
  });
});

describe('OTP API: events with a destination change', () => {
  const h = harnessPerTest({ destination: { source: '${exports.mobile}', allow_change: true } });

  it('OTP_200006 masks both destinations; no event holds either number', async () => {
    const u = await h().user();
    await u.send('change_destination', { destination: '+46709876543' }).expect(200);
    await u.send('change_destination', { destination: 'garbage' }).expect(400);
    const [changed] = eventsOf(h(), 'OTP_200006');
    assert.ok(changed);
    assert.equal(changed.to, '+46 70*** **43');
    assert.equal(changed.from, ALICE_MASKED);
    for (const e of h().events) {
      const line = JSON.stringify(e);
      for (const n of ['+46701234567', '46701234567', '+46709876543', '46709876543', ...h().codes()]) assert.ok(!line.includes(n), `${e.event_id}: ${line}`);
    }
  });
});
