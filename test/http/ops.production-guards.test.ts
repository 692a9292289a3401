import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tempConfigDir } from '../support/temp-config.js';

/**
 * With NODE_ENV=production the demo server refuses to start (exit 2, saying why) while a development secret, the
 * Outbox valve, the memory store or non-secure cookies are configured; outside production it warns once each.
 * Each case breaks exactly one guard of a configuration that passes all of them.
 */
const ROOT = process.cwd();
/** A signing key of the provider's own: the development one is refused in production. */
const OIDC_JWKS = JSON.stringify({ keys: [{ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'prod-1', alg: 'ES256', use: 'sig' }] });

function productionConfig(change: (c: Record<string, any>) => void = () => {}): string {
  const t = tempConfigDir();
  const config: Record<string, any> = JSON.parse(readFileSync('config/default.json', 'utf8'));
  delete config.$schema;
  config.pipes = [
    { id: 'demo-users', valves: [{ name: 'UserFileCheck', config: { file: path.join(ROOT, 'config/demo-users.json') } }] },
    { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'SmsSend', config: { url: 'http://127.0.0.1:9/sms', body: { to: '{{to}}', text: '{{text}}' } } }] },
    { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
  ];
  // The demo's selector keeps its SMS choice only: the e-mail, app and recovery choices need pipes this check is not about.
  config.authenticators = config.authenticators.filter((a: { id: string }) => !['email', 'totp', 'recovery'].includes(a.id));
  config.authenticators.find((a: { id: string }) => a.id === 'method').config.choices = [{ id: 'otp' }];
  config.store = { type: 'redis', url: 'redis://127.0.0.1:9' };
  config.server.session.secure = true;
  config.logging = { events: { console: false } };
  config.oidc.issuer = 'https://sso.example/oidc';
  change(config);
  return t.write('prod.json', config);
}

function run(configFile: string, env: Record<string, string>, ms = 15_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', configFile], {
      cwd: ROOT, env: { ...process.env, OTP_CONFIG: '', REDIS_URL: '', PORT: '0', SESSION_SECRET: 's3cret-session', OTP_SECRET: 's3cret-otp', CREDENTIAL_KEY: 's3cret-credential', OIDC_JWKS, OIDC_COOKIE_KEYS: 's3cret-cookie-key', VERIFY_API_DEMO_SECRET: 's3cret-api-key', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

describe('production guards (the demo server as a child process)', function () {
  this.timeout(60_000);

  it('a configuration that passes every guard gets past them (and then fails only on the unreachable Redis, exit 1)', async () => {
    const r = await run(productionConfig(), { NODE_ENV: 'production' });
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /refusing to start/);
    assert.match(r.stderr, /cannot connect to redis:\/\/127\.0\.0\.1:9/);
  });

  const cases: [string, (c: Record<string, any>) => void, Record<string, string>, RegExp][] = [
    ['a development SESSION_SECRET', () => {}, { SESSION_SECRET: '' }, /SESSION_SECRET is not set/],
    ['a development OTP_SECRET', () => {}, { OTP_SECRET: '' }, /OTP_SECRET is not set/],
    ['a development CREDENTIAL_KEY (the config keeps enrolled apps: TotpEnroll)', () => {}, { CREDENTIAL_KEY: '' }, /CREDENTIAL_KEY is not set/],
    ['the Outbox valve', (c) => { c.pipes[1].valves[2] = { name: 'Outbox' }; }, {}, /the Outbox valve .* otp-send/],
    ['the memory store', (c) => { c.store = { type: 'memory' }; }, {}, /store.type is "memory"/],
    ['session cookies that are not secure', (c) => { c.server.session.secure = false; }, {}, /server.session.secure is false/],
    ['the development OIDC signing key', () => {}, { OIDC_JWKS: '' }, /OIDC_JWKS is not set/],
    ['the development OIDC cookie key', () => {}, { OIDC_COOKIE_KEYS: '' }, /OIDC_COOKIE_KEYS is not set/],
    ['an http OIDC issuer', (c) => { c.oidc.issuer = 'http://sso.example/oidc'; }, {}, /oidc.issuer http:\/\/sso.example\/oidc is not https/],
    ['the demo API key with its development secret', () => {}, { VERIFY_API_DEMO_SECRET: '' }, /verify_api key demo has the development secret/],
  ];
  for (const [what, change, env, message] of cases) {
    it(`refuses ${what}: exit 2, one reason, nothing else`, async () => {
      const r = await run(productionConfig(change), { NODE_ENV: 'production', ...env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /refusing to start with NODE_ENV=production/);
      assert.match(r.stderr, message);
      assert.equal((r.stderr.match(/^\s+- /gm) ?? []).length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('outside production the demo defaults start, warning once for each development default', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT, env: { ...process.env, NODE_ENV: 'development', OTP_CONFIG: '', REDIS_URL: '', PORT: '0', SESSION_SECRET: '', OTP_SECRET: '', CREDENTIAL_KEY: '', OIDC_JWKS: '', OIDC_COOKIE_KEYS: '', VERIFY_API_DEMO_SECRET: '', EVENTS_FILE: path.join(tempConfigDir().dir, 'e.jsonl') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
    try {
      const start = Date.now();
      while (!/listening on/.test(output) && Date.now() - start < 20_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      assert.match(output, /listening on/);
      for (const warning of [/SESSION_SECRET is not set/g, /OTP_SECRET is not set/g, /CREDENTIAL_KEY is not set/g, /the Outbox valve/g, /store.type is "memory"/g, /server.session.secure is false/g, /OIDC_JWKS is not set/g, /OIDC_COOKIE_KEYS is not set/g, /verify_api key demo has the development secret/g]) {
        assert.equal((output.match(warning) ?? []).length, 1, `${warning} once`);
      }
    } finally {
      child.kill('SIGTERM');
    }
  });
});
