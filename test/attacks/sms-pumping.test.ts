import assert from 'node:assert/strict';
import type { Response } from 'supertest';
import { assertErrorAnswer, eventsOf, firstGet, outboxCount, session } from '../support/otp-api.js';
import { otpHarness, type Harness } from '../support/otp-harness.js';

// Issue 13, attack 3: SMS pumping (toll fraud). The attacker makes the service send as many messages as it can,
// to numbers it earns from (premium rate, other costly line types, expensive countries) or just many numbers.
// Controls: PhonePolicy (line types, country lists; SPEC section 6), the send budgets per destination, per IP, per
// country and global (SPEC section 2), max_codes, max_changes and the cooldown per transaction. Each refusal is its
// error code with its event, and nothing goes out. Existing suites: test/http/otp.rate-limits.test.ts (per
// destination, per IP, resend over the limit), test/unit/valves.phone-policy.test.ts (the valve alone).

/** The demo's send pipe (pipes/otp-send.json) with a policy of the test's choosing. */
function pumpingPipes(policy: Record<string, unknown>) {
  return {
    pipes: [
      { id: 'otp-send', valves: [
        { name: 'PhoneNormalize', config: { default_country: 'SE' } },
        { name: 'PhonePolicy', config: policy },
        { name: 'OtpGenerate' },
        { name: 'Outbox' },
      ] },
      { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
    ],
  };
}

const DEMO_POLICY = { do_not_send_to_types: ['premium_rate', 'shared_cost', 'toll_free', 'uan', 'pager', 'voicemail'] };
const OPEN = { sends_per_destination_per_minute: 1000, sends_per_ip_per_hour: 1000 };

let n = 0;
/** A new subject each call, so that per-subject state never gets in the way of the send budgets. */
const subject = (mobile: string) => ({ username: `user${(n += 1)}`, mobile });

/** Asserts one refusal of a send: the answer, its event, and an unchanged outbox. */
function assertRefusedSend(h: Harness, res: Response, before: { sent: number; events: number }, expect: { http: number; code: string; event: string; limit?: string }): void {
  assertErrorAnswer(res, expect.http, expect.code);
  if (expect.http === 429) {
    const retry = Number(res.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After ${res.headers['retry-after']}`);
    assert.equal(res.body.retry_after, retry);
  }
  assert.equal(outboxCount(h), before.sent, 'nothing sent');
  const events = eventsOf(h, expect.event);
  assert.equal(events.length, before.events + 1, `one ${expect.event}`);
  const last = events.at(-1)!;
  if (expect.limit) assert.equal(last.limit, expect.limit);
  for (const e of h.events) assert.doesNotMatch(JSON.stringify(e), /\+\d{9,}/, `no whole number in ${e.event_id}`);
}

const snapshot = (h: Harness, event: string) => ({ sent: outboxCount(h), events: eventsOf(h, event).length });

describe('attack: SMS pumping to costly line types (PhonePolicy do_not_send_to_types, the demo policy)', () => {
  let h: Harness;
  beforeEach(async () => { h = await otpHarness({ rate_limits: OPEN, resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 10 }, max_codes: 10 }, {}, pumpingPipes(DEMO_POLICY)); });
  afterEach(async () => { await h.close(); });

  for (const [what, number] of [
    ['a Swedish premium-rate number', '+46939123456'],
    ['a British premium-rate number', '+449012345678'],
    ['a US premium-rate (900) number', '+19005551234'],
    ['a toll-free number', '+4620123456'],
    ['a shared-cost number', '+46771123456'],
  ] as const) {
    it(`${what} as the first destination: DESTINATION_NOT_ALLOWED (403), OTP_200004, nothing sent; reloads send nothing either`, async () => {
      const before = snapshot(h, 'OTP_200004');
      const s = await session(h, subject(number));
      const res = await firstGet(s);
      assertRefusedSend(h, res, before, { http: 403, code: 'DESTINATION_NOT_ALLOWED', event: 'OTP_200004' });
      assert.equal(eventsOf(h, 'OTP_200004').at(-1)!.reason, 'SUPPRESSED SENDING CODE');
      for (let i = 0; i < 3; i += 1) assert.equal((await s.get()).status, 403);
      assertErrorAnswer(await s.send('resend'), 409, 'NO_PENDING_CODE');
      assert.equal(outboxCount(h), before.sent);
    });
  }

  it('premium-rate numbers through change_destination: each refused (403), nothing sent, no change counted', async () => {
    const s = await session(h, subject('+46701234567'));
    await firstGet(s);
    const before = snapshot(h, 'OTP_200004');
    for (const number of ['+46939123456', '+449012345678', '+46900123456']) {
      const res = await s.send('change_destination', { destination: number });
      assertRefusedSend(h, res, before, { http: 403, code: 'DESTINATION_NOT_ALLOWED', event: 'OTP_200004' });
      before.events += 1;
    }
    const status = (await s.send('status')).body;
    assert.equal(status.status, 'PENDING', 'a refused change leaves the transaction whole');
    assert.equal(status.report.properties.phone_number_changes, 0);
    assert.equal(status.codes_left, 9);
  });

  it('refused numbers do not spend the send budgets (the pumper cannot starve real users)', async () => {
    const g = await otpHarness({ rate_limits: { sends_global_per_hour: 1, sends_per_country_per_hour: 1, sends_per_ip_per_hour: 1 } }, {}, pumpingPipes(DEMO_POLICY));
    try {
      for (let i = 0; i < 5; i += 1) assert.equal((await firstGet(await session(g, subject('+46939123456')))).status, 403);
      const real = await firstGet(await session(g, subject('+46701234567')));
      assert.equal(real.status, 200, real.text);
      assert.equal(outboxCount(g), 1);
    } finally { await g.close(); }
  });
});

describe('attack: SMS pumping to expensive countries (PhonePolicy whitelist and blacklist)', () => {
  const harness = (policy: Record<string, unknown>) => otpHarness({ rate_limits: OPEN }, {}, pumpingPipes(policy));

  it('whitelist [SE, NO]: a British and a Lithuanian mobile are refused (403, OTP_200004); a Norwegian one is sent', async () => {
    const h = await harness({ whitelist: ['SE', 'NO'] });
    try {
      for (const number of ['+447400123456', '+37061234567']) {
        const before = snapshot(h, 'OTP_200004');
        assertRefusedSend(h, await firstGet(await session(h, subject(number))), before, { http: 403, code: 'DESTINATION_NOT_ALLOWED', event: 'OTP_200004' });
      }
      assert.equal((await firstGet(await session(h, subject('+4790123456')))).status, 200);
      assert.equal(outboxCount(h), 1);
    } finally { await h.close(); }
  });

  it('blacklist [SL]: a Sierra Leone mobile is refused; national input is read in the default country, not a way around it', async () => {
    const h = await harness({ blacklist: ['SL'] });
    try {
      const before = snapshot(h, 'OTP_200004');
      assertRefusedSend(h, await firstGet(await session(h, subject('+23276123456'))), before, { http: 403, code: 'DESTINATION_NOT_ALLOWED', event: 'OTP_200004' });
      // The same number written with the international prefix 00 instead of +.
      const before2 = snapshot(h, 'OTP_200004');
      const res = await firstGet(await session(h, subject('0023276123456')));
      assert.ok(res.status === 403 || res.status === 400, `${res.status} ${res.text}`);
      assert.equal(outboxCount(h), before2.sent);
    } finally { await h.close(); }
  });
});

describe('attack: SMS pumping within the send budgets', () => {
  const budgets = async (rate_limits: Record<string, unknown>, otp: Record<string, unknown> = {}) => otpHarness({ rate_limits, ...otp }, {}, pumpingPipes({}));

  it('sends_per_destination_per_minute 2: the third send to one number (other subjects, other sessions) is RATE_LIMITED, OTP_200011', async () => {
    const h = await budgets({ sends_per_destination_per_minute: 2, sends_per_ip_per_hour: 1000 });
    try {
      for (let i = 0; i < 2; i += 1) assert.equal((await firstGet(await session(h, subject('+46701112233')))).status, 200);
      const before = snapshot(h, 'OTP_200011');
      assertRefusedSend(h, await firstGet(await session(h, subject('+46701112233'))), before, { http: 429, code: 'RATE_LIMITED', event: 'OTP_200011', limit: 'sends_per_destination_per_minute' });
      // Written differently, it is the same number once normalised.
      const before2 = snapshot(h, 'OTP_200011');
      assertRefusedSend(h, await firstGet(await session(h, subject('070-111 22 33'))), before2, { http: 429, code: 'RATE_LIMITED', event: 'OTP_200011', limit: 'sends_per_destination_per_minute' });
    } finally { await h.close(); }
  });

  it('sends_per_ip_per_hour 3: a fourth number from one address is RATE_LIMITED, and a forged X-Forwarded-For does not reset it', async () => {
    const h = await budgets({ sends_per_ip_per_hour: 3 });
    try {
      for (let i = 0; i < 3; i += 1) assert.equal((await firstGet(await session(h, subject(`+4670${1000001 + i}`)))).status, 200);
      const before = snapshot(h, 'OTP_200011');
      const s = await session(h, subject('+46705550001'));
      const res = await s.get().set('X-Forwarded-For', '198.51.100.23');
      assertRefusedSend(h, res, before, { http: 429, code: 'RATE_LIMITED', event: 'OTP_200011', limit: 'sends_per_ip_per_hour' });
    } finally { await h.close(); }
  });

  it('sends_per_country_per_hour 2: the third Swedish number is RATE_LIMITED; a Norwegian one has its own budget', async () => {
    const h = await budgets({ sends_per_country_per_hour: 2, sends_per_ip_per_hour: 1000 });
    try {
      assert.equal((await firstGet(await session(h, subject('+46701000001')))).status, 200);
      assert.equal((await firstGet(await session(h, subject('+46702000002')))).status, 200);
      const before = snapshot(h, 'OTP_200011');
      assertRefusedSend(h, await firstGet(await session(h, subject('+46703000003'))), before, { http: 429, code: 'RATE_LIMITED', event: 'OTP_200011', limit: 'sends_per_country_per_hour' });
      assert.equal((await firstGet(await session(h, subject('+4790123456')))).status, 200, 'Norway is not Sweden');
      assert.equal(outboxCount(h), 3);
    } finally { await h.close(); }
  });

  it('sends_global_per_hour 3: the fourth send anywhere is RATE_LIMITED, OTP_200011 with limit sends_global_per_hour', async () => {
    const h = await budgets({ sends_global_per_hour: 3, sends_per_ip_per_hour: 1000 });
    try {
      for (const number of ['+46701000001', '+4790123456', '+447400123456']) assert.equal((await firstGet(await session(h, subject(number)))).status, 200);
      const before = snapshot(h, 'OTP_200011');
      assertRefusedSend(h, await firstGet(await session(h, subject('+358401234567'))), before, { http: 429, code: 'RATE_LIMITED', event: 'OTP_200011', limit: 'sends_global_per_hour' });
    } finally { await h.close(); }
  });

  it('the budgets count resends and changes too: a resend and a change over the global budget are RATE_LIMITED and use no code', async () => {
    const h = await budgets({ sends_global_per_hour: 2, sends_per_ip_per_hour: 1000 }, { resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true } });
    try {
      const s = await session(h, subject('+46701000001'));
      await firstGet(s);
      assert.equal((await s.send('resend')).status, 200);
      const before = snapshot(h, 'OTP_200011');
      assertRefusedSend(h, await s.send('resend'), before, { http: 429, code: 'RATE_LIMITED', event: 'OTP_200011', limit: 'sends_global_per_hour' });
      const before2 = snapshot(h, 'OTP_200011');
      assertRefusedSend(h, await s.send('change_destination', { destination: '+46702000002' }), before2, { http: 429, code: 'RATE_LIMITED', event: 'OTP_200011', limit: 'sends_global_per_hour' });
      const status = (await s.send('status')).body;
      assert.equal(status.codes_left, 1, 'the refused sends used no code');
      assert.equal(status.report.properties.phone_number_changes, 0, 'the refused change is not counted');
    } finally { await h.close(); }
  });

  it('one transaction cannot be made a pump: with the defaults it sends max_codes (3) in all, then MAX_CODES (409)', async () => {
    const h = await budgets({ sends_per_ip_per_hour: 1000 }, { resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 2 } });
    try {
      const s = await session(h, subject('+46701000001'));
      await firstGet(s);
      const answers = [];
      for (let i = 0; i < 10; i += 1) answers.push((await (i % 2 ? s.send('resend') : s.send('change_destination', { destination: `+4670200000${i}` }))).body.error?.code ?? 'PENDING');
      assert.equal(outboxCount(h), 3, JSON.stringify(answers));
      assert.ok(answers.slice(2).every((a) => a === 'MAX_CODES' || a === 'MAX_CHANGES'), JSON.stringify(answers));
    } finally { await h.close(); }
  });
});
