import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { otpHarness } from '../support/otp-harness.js';
import { wrongCode } from '../support/otp-api.js';

/** Parses the Prometheus text format into `name{labels}` -> value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('operations: metrics, health, unlock', function () {
  this.timeout(30_000);

  it('/metrics (server.metrics: true) counts codes sent, entries by outcome, aborts, lockouts and rate limits', async () => {
    const h = await otpHarness({ rate_limits: { entries_per_transaction_per_minute: 4 } }, {}, { server: { metrics: true } });
    try {
      const u = await h.user();
      await u.send('start', { otp: wrongCode(h.codes()) }).expect(200);
      await u.send('start', { otp: h.codes()[0] }).expect(200);
      const v = await h.user({ username: 'bob', mobile: '+447400123456' });
      for (let i = 0; i < 3; i++) await v.send('start', { otp: wrongCode(h.codes(), i) });
      const w = await h.user({ username: 'bob', mobile: '+447400123456' });
      assert.equal((await w.get()).status, 423);
      const res = await request(h.app).get('/metrics').expect(200).expect('Content-Type', /text\/plain/);
      const m = parseMetrics(res.text);
      assert.equal(m.get('otp_codes_sent_total{authenticator="otp",channel="sms",outcome="sent"}'), 2);
      assert.equal(m.get('otp_entries_total{authenticator="otp",outcome="invalid"}'), 4);
      assert.equal(m.get('otp_entries_total{authenticator="otp",outcome="accepted"}'), 1);
      assert.equal(m.get('otp_aborts_total{authenticator="otp"}'), 1);
      assert.equal(m.get('otp_lockouts_total{authenticator="otp"}'), 2, 'two refused GETs of the locked subject: the harness first GET and ours');
      assert.equal(m.get('otp_delivery_seconds_count{channel="sms"}'), 2);
      assert.ok(!res.text.includes('46701234567'), 'no number in metrics');
    } finally { await h.close(); }
  });

  it('/metrics is not served unless enabled', async () => {
    const h = await otpHarness();
    try {
      await request(h.app).get('/metrics').expect(404);
    } finally { await h.close(); }
  });

  it('the health router: /healthz and /readyz answer on the memory store', async () => {
    const h = await otpHarness();
    try {
      h.app.use(h.authn.health);
      assert.deepEqual((await request(h.app).get('/healthz').expect(200)).body, { status: 'ok' });
      assert.deepEqual((await request(h.app).get('/readyz').expect(200)).body, { status: 'ok' });
    } finally { await h.close(); }
  });

  it('unlock through the admin route: a wrong token is refused, the right one lifts the lockout and logs OTP_200014', async () => {
    const h = await otpHarness({}, { env: { ...process.env, OTP_ADMIN_TOKEN: 'help-desk-token', OTP_SECRET: 'k', SESSION_SECRET: 's' } });
    try {
      const u = await h.user();
      for (let i = 0; i < 3; i++) await u.send('start', { otp: wrongCode(h.codes(), i) });
      const other = await h.user();
      assert.equal((await other.get()).status, 423);
      await request(h.app).post('/_authn/admin/unlock').set('Authorization', 'Bearer wrong').send({ subject: 'alice' }).expect(401);
      const ok = await request(h.app).post('/_authn/admin/unlock').set('Authorization', 'Bearer help-desk-token').send({ subject: 'alice' }).expect(200);
      assert.deepEqual(ok.body, { status: 'OK', subject: 'alice', unlocked: ['otp'] });
      assert.ok(h.events.some((e) => e.event_id === 'OTP_200014' && e.CUSTOMER_IDENTIFIER === 'alice'));
      const again = await h.user();
      assert.equal((await again.get()).status, 200, 'a new transaction starts after the unlock');
      const twice = await request(h.app).post('/_authn/admin/unlock').set('Authorization', 'Bearer help-desk-token').send({ subject: 'alice' }).expect(200);
      assert.deepEqual(twice.body.unlocked, []);
    } finally { await h.close(); }
  });

  it('without OTP_ADMIN_TOKEN there is no admin route', async () => {
    const h = await otpHarness({}, { env: { ...process.env, OTP_ADMIN_TOKEN: '', OTP_SECRET: 'k', SESSION_SECRET: 's' } });
    try {
      await request(h.app).post('/_authn/admin/unlock').set('Authorization', 'Bearer ').send({ subject: 'alice' }).expect(404);
    } finally { await h.close(); }
  });

  it('the CLI `otp-authenticator unlock` reaches a running server with the memory store', async () => {
    const h = await otpHarness({}, { env: { ...process.env, OTP_ADMIN_TOKEN: 'cli-token', OTP_SECRET: 'k', SESSION_SECRET: 's' } });
    const server = h.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const u = await h.user();
      for (let i = 0; i < 3; i++) await u.send('start', { otp: wrongCode(h.codes(), i) });
      const port = (server.address() as AddressInfo).port;
      const run = (args: string[], env: Record<string, string>) => new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli-main.ts', 'unlock', ...args], { env: { ...process.env, REDIS_URL: '', OTP_CONFIG: '', ...env } });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
        child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
        child.on('exit', (code) => resolve({ code, out }));
      });
      const noToken = await run(['alice', '--url', `http://127.0.0.1:${port}`], { OTP_ADMIN_TOKEN: '' });
      assert.equal(noToken.code, 2);
      assert.match(noToken.out, /set OTP_ADMIN_TOKEN/);
      const done = await run(['alice', '--url', `http://127.0.0.1:${port}`], { OTP_ADMIN_TOKEN: 'cli-token' });
      assert.equal(done.code, 0, done.out);
      assert.match(done.out, /unlocked alice in otp/);
      const other = await h.user();
      assert.equal((await other.get()).status, 200);
    } finally {
      server.close();
      await h.close();
    }
  });
});
