import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { readSecrets } from '../../src/config/secrets.js';
import { productionProblems } from '../../src/ops/production-guards.js';
import { otpHarness } from '../support/otp-harness.js';
import { wrongCode } from '../support/otp-api.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

/** What an independent review of the code found, each attacked here so it stays fixed. */
describe('attack: findings of the code review', () => {
  it('a session opened before another session\'s abort cannot have codes sent to the locked subject (resend, change)', async () => {
    const h = await otpHarness({ resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 2 } });
    try {
      const early = await h.user();
      const aborting = await h.user();
      for (let i = 0; i < 3; i++) await aborting.send('start', { otp: wrongCode(h.codes(), i) });
      const before = h.codes().length;
      const resend = await early.send('resend');
      assert.equal(resend.status, 423);
      assert.equal(resend.body.error.code, 'LOCKED');
      const change = await early.send('change_destination', { destination: '+44 7400 123456' });
      assert.equal(change.status, 423);
      assert.equal(h.codes().length, before, 'no SMS was sent to a subject whose codes would all be refused');
    } finally { await h.close(); }
  });

  it('the final events carry the report, with destinations masked', async () => {
    const h = await otpHarness();
    try {
      const u = await h.user();
      await u.send('start', { otp: h.codes()[0] }).expect(200);
      const validated = h.events.find((e) => e.event_id === 'WEB_100019');
      const report = validated?.report as { status: string; properties: { initial_destination: string } } | undefined;
      assert.equal(report?.status, 'approved');
      assert.equal(report?.properties.initial_destination, '+46 70*** **67');
      const v = await h.user({ username: 'bob', mobile: '+447400123456' });
      await v.send('cancel').expect(200);
      assert.equal((h.events.find((e) => e.event_id === 'OTP_200012')?.report as { detail?: string } | undefined)?.detail, 'TRANSACTION CANCELLED');
      assert.ok(!JSON.stringify(h.events).includes('46701234567'), 'no whole number in any event');
    } finally { await h.close(); }
  });

  it('satellite numbers (no country) share the "001" country budget and can be blacklisted', async () => {
    const pipes = [
      { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'PhonePolicy', config: { blacklist: ['001'] } }, { name: 'OtpGenerate' }, { name: 'Outbox' }] },
      { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
    ];
    const refused = await otpHarness({}, {}, { pipes });
    try {
      const u = await refused.user({ username: 'sat', mobile: '+870 773 111 632' });
      assert.equal((await u.get()).status, 403);
    } finally { await refused.close(); }
    const budget = await otpHarness({ rate_limits: { sends_per_country_per_hour: 1 } });
    try {
      await budget.user({ username: 's1', mobile: '+870 773 111 632' });
      const second = await budget.user({ username: 's2', mobile: '+881 6 3245 6789' });
      const res = await second.get();
      assert.equal(res.status, 429, JSON.stringify(res.body));
      assert.ok(budget.events.some((e) => e.event_id === 'OTP_200011' && e.limit === 'sends_per_country_per_hour'));
    } finally { await budget.close(); }
  });

  it('a pre-pipe that ends without a delivery valve delivering counts no code and answers DELIVERY_FAILED', async () => {
    const h = await otpHarness({}, {}, { pipes: [
      { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }] },
      { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
    ] });
    try {
      const u = await h.user();
      const res = await u.get();
      assert.equal(res.status, 502);
      assert.equal(res.body.error.code, 'DELIVERY_FAILED');
      const status = await u.send('status');
      assert.equal(status.body.report.properties.codes_sent, 0);
    } finally { await h.close(); }
  });

  it('production refuses an SMS with the WebOTP line but no fixed webotp_host', () => {
    const c = validConfig();
    c.pipes[0].valves[2] = { name: 'SmsSend', config: { url: 'https://sms.example.com/send', body: { to: '{{to}}', text: '{{text}}' }, webotp: true } };
    const config = loadConfig(tempConfigDir().write('c.json', c), {});
    const problems = productionProblems(config, readSecrets({ SESSION_SECRET: 's', OTP_SECRET: 'o' }));
    assert.ok(problems.some((p) => p.key === 'webotp-host' && /webotp: true without webotp_host in pipe send/.test(p.message)), JSON.stringify(problems));
  });
});
