import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import request from 'supertest';
import { otpHarness } from '../support/otp-harness.js';
import { wrongCode } from '../support/otp-api.js';
import { describeRedis } from '../support/redis.js';
import { freePort, startRedisServer, stopProcess } from '../support/redis-processes.js';

/** Operations against real Redis: OTP_SECRET rotation across a restart, unlock from the CLI, readiness. */
describeRedis('operations on Redis', (ctx) => {
  it('a process restarted with a new key first in OTP_SECRET still validates a code issued before the restart', async () => {
    const store = { type: 'redis', url: ctx.url, prefix: `${ctx.prefix}rot:` };
    const before = await otpHarness({}, { env: { ...process.env, OTP_SECRET: 'key-2025', SESSION_SECRET: 'sess' } }, { store });
    const u = await before.user();
    const code = before.codes()[0]!;
    await before.close();

    // A new process (a new app on the same Redis): the browser brings its session cookie, the user the code.
    const after = await otpHarness({}, { env: { ...process.env, OTP_SECRET: 'key-2026,key-2025', SESSION_SECRET: 'sess' } }, { store });
    try {
      const jar = (u.agent as unknown as { jar: { getCookies(o: object): { toValueString(): string }[] } }).jar;
      const cookies = jar.getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false }).map((c) => c.toValueString()).join('; ');
      assert.ok(cookies.includes('sid='), 'the browser keeps its session cookie');
      const csrf = u.csrf;
      const ok = await request(after.app).post('/authn/otp').set('Cookie', cookies).set('X-CSRF-Token', csrf).send({ type: 'start', data: { otp: code } });
      assert.deepEqual(ok.body, { status: 'COMPLETED', location: '/account' });
    } finally {
      await after.close();
    }

    const removed = await otpHarness({}, { env: { ...process.env, OTP_SECRET: 'key-2027', SESSION_SECRET: 'sess' } }, { store: { ...store, prefix: `${ctx.prefix}rot2:` } });
    const first = await otpHarness({}, { env: { ...process.env, OTP_SECRET: 'key-2025', SESSION_SECRET: 'sess' } }, { store: { ...store, prefix: `${ctx.prefix}rot2:` } });
    try {
      const v = await first.user();
      const jar = (v.agent as unknown as { jar: { getCookies(o: object): { toValueString(): string }[] } }).jar;
      const cookies = jar.getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false }).map((c) => c.toValueString()).join('; ');
      const refused = await request(removed.app).post('/authn/otp').set('Cookie', cookies).set('X-CSRF-Token', v.csrf).send({ type: 'start', data: { otp: first.codes()[0] } });
      assert.equal(refused.body.error?.code, 'INVALID_OTP', 'a code under a key no longer listed is refused');
    } finally {
      await removed.close();
      await first.close();
    }
  });

  it('`otp-authenticator unlock SUBJECT` lifts a lockout directly in Redis, seen by every process', async () => {
    const prefix = `${ctx.prefix}unlock:`;
    const h = await otpHarness({}, {}, { store: { type: 'redis', url: ctx.url, prefix } });
    try {
      const u = await h.user();
      for (let i = 0; i < 3; i++) await u.send('start', { otp: wrongCode(h.codes(), i) });
      assert.equal((await (await h.user()).get()).status, 423);
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli-main.ts', 'unlock', 'alice', '--authenticator', 'otp'], {
          env: { ...process.env, REDIS_URL: ctx.url, REDIS_PREFIX: prefix, OTP_CONFIG: '', EVENTS_FILE: '' },
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
        child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
        child.on('exit', (code) => resolve({ code, out }));
      });
      assert.equal(result.code, 0, result.out);
      assert.match(result.out, /unlocked alice in otp/);
      assert.match(result.out, /"event_id":"OTP_200014"/, 'the unlock is logged as an event');
      assert.equal((await (await h.user()).get()).status, 200, 'the subject can start again');
    } finally {
      await h.close();
    }
  });

  it('/readyz follows Redis: 200 while it answers, 503 while it is away, 200 again when it is back', async function () {
    this.timeout(30_000);
    const port = await freePort();
    let server = await startRedisServer(port);
    const h = await otpHarness({}, {}, { store: { type: 'redis', url: `redis://127.0.0.1:${port}`, prefix: ctx.prefix } });
    h.app.use(h.authn.health);
    try {
      await request(h.app).get('/readyz').expect(200);
      await stopProcess(server);
      await request(h.app).get('/readyz').expect(503);
      await request(h.app).get('/healthz').expect(200);
      server = await startRedisServer(port);
      let ready = 503;
      for (let i = 0; i < 60 && ready !== 200; i++) {
        ready = (await request(h.app).get('/readyz')).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready, 200);
    } finally {
      await h.close();
      await stopProcess(server);
    }
  });
});
