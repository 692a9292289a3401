import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/config/config-error.js';
import { amrOf, targetAcr } from '../../src/integrations/oidc-amr.js';
import { idTokenAlgorithm, signingKeys } from '../../src/integrations/oidc-keys.js';
import { productionProblems } from '../../src/ops/production-guards.js';
import { readSecrets } from '../../src/config/secrets.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

/** Issue 23: amr from what the chain did (RFC 8176), the acr it reached, and the `oidc` block's checks. */
const STEPS = [{ id: 'password', type: 'UserNameAndPassword' }, { id: 'method', type: 'Selector' }];
const ACRS = [{ value: 'urn:otp:pwd', steps: ['password'] }, { value: 'urn:otp:mfa', steps: ['password', 'method'] }];
const report = (channel: string | null, detail = 'ALL CHECKS PASSED') => ({ detail, properties: { channel } });

describe('OIDC: amr and acr', () => {
  it('pwd for the password; otp plus sms or tel for a texted or spoken code; otp alone for e-mail, an app or a recovery code; mfa with both', () => {
    assert.deepEqual(amrOf(STEPS, ['password'], {}), ['pwd']);
    const cases: [string, string | null, string[]][] = [
      ['otp', 'sms', ['pwd', 'otp', 'sms', 'mfa']],
      ['otp', 'voice', ['pwd', 'otp', 'tel', 'mfa']],
      ['email', 'email', ['pwd', 'otp', 'mfa']],
      ['totp', null, ['pwd', 'otp', 'mfa']],
      ['recovery', null, ['pwd', 'otp', 'mfa']],
    ];
    for (const [method, channel, amr] of cases) {
      assert.deepEqual(amrOf(STEPS, ['password', 'method'], { otp_method: method, otp_reports: { [method]: report(channel) } }), amr, `${method} (${channel})`);
    }
  });

  it('a trusted browser adds nothing; a step not done counts nothing; an OTP step of its own counts by its report', () => {
    assert.deepEqual(amrOf(STEPS, ['password', 'method'], { otp_method: 'trusted_device' }), ['pwd']);
    assert.deepEqual(amrOf(STEPS, ['method'], { otp_method: 'otp', otp_reports: { otp: report('sms') } }), ['otp', 'sms']);
    const own = [{ id: 'password', type: 'UserNameAndPassword' }, { id: 'otp', type: 'OTP' }];
    assert.deepEqual(amrOf(own, ['password', 'otp'], { otp_reports: { otp: report('sms') } }), ['pwd', 'otp', 'sms', 'mfa']);
    assert.deepEqual(amrOf(own, ['password', 'otp'], { otp_reports: { otp: report(null, 'TRUSTED DEVICE') } }), ['pwd']);
  });

  it('the target acr is the first requested one offered, essential first, else the default, else the strongest', () => {
    assert.equal(targetAcr(ACRS, undefined, { essential: [], voluntary: [] }), ACRS[1]);
    assert.equal(targetAcr(ACRS, 'urn:otp:pwd', { essential: [], voluntary: [] }), ACRS[0]);
    assert.equal(targetAcr(ACRS, 'urn:otp:pwd', { essential: [], voluntary: ['x', 'urn:otp:mfa'] }), ACRS[1]);
    assert.equal(targetAcr(ACRS, undefined, { essential: ['urn:otp:pwd'], voluntary: ['urn:otp:mfa'] }), ACRS[0]);
    assert.equal(targetAcr(ACRS, undefined, { essential: ['urn:x'], voluntary: [] }), 'unmet');
  });
});

function withOidc(change: (c: Record<string, any>) => void = () => {}): Record<string, any> {
  const c = validConfig();
  c.pipes.push({ id: 'pw', valves: [{ name: 'FlowFail' }] });
  c.authenticators.push(
    { id: 'password', type: 'UserNameAndPassword', config: { base_path: '/authn', pipe_id: 'pw' } },
    { id: 'login', type: 'Chain', config: { base_path: '/authn', chain: [{ id: 'password' }, { id: 'otp' }] } },
  );
  c.oidc = {
    chain: 'login',
    acr_values: [{ value: 'urn:otp:pwd', steps: ['password'] }, { value: 'urn:otp:mfa', steps: ['password', 'otp'] }],
    clients: [{ client_id: 'app', client_secret: 'a-client-secret-long-enough', redirect_uris: ['https://app.example/cb'] }],
  };
  change(c);
  return c;
}

function problems(config: Record<string, any>): string[] {
  try {
    loadConfig(tempConfigDir().write('config.json', config), {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('config: the oidc block', () => {
  it('a valid block loads with its defaults', () => {
    assert.deepEqual(problems(withOidc()), []);
    const config = loadConfig(tempConfigDir().write('c.json', withOidc()), {});
    assert.equal(config.oidc?.issuer, 'http://localhost:3000/oidc');
    assert.equal(config.oidc?.interaction_path, '/interaction');
    assert.deepEqual(config.oidc?.clients[0], { client_id: 'app', client_secret: 'a-client-secret-long-enough', redirect_uris: ['https://app.example/cb'], first_party: false, otp_report: false, refresh_tokens: false });
  });

  it('each mistake is a problem at its path: no such chain, not a chain, a step not in the chain, a default acr not offered, twice the same client or acr, a short secret, a bad redirect URI, an unknown key', () => {
    const cases: [(c: Record<string, any>) => void, RegExp][] = [
      [(c) => { c.oidc.clients[0].redirect_uris = ['/\\evil.example/cb']; }, /^oidc\.clients\[0\]\.redirect_uris\[0\]/],
      [(c) => { c.oidc.chain = 'nope'; }, /^oidc\.chain: no authenticator "nope"/],
      [(c) => { c.oidc.chain = 'otp'; }, /^oidc\.chain: "otp" is a OTP, not a Chain/],
      [(c) => { c.oidc.acr_values[1].steps = ['password', 'totp']; }, /^oidc\.acr_values\[1\]\.steps\[1\]: "totp" is not a step of chain "login" \(its steps: password, otp\)/],
      [(c) => { c.oidc.default_acr = 'urn:x'; }, /^oidc\.default_acr: "urn:x" is not one of acr_values/],
      [(c) => { c.oidc.clients.push({ ...c.oidc.clients[0] }); }, /^oidc\.clients: client_id "app" is listed twice/],
      [(c) => { c.oidc.acr_values[1].value = 'urn:otp:pwd'; }, /^oidc\.acr_values: acr value "urn:otp:pwd" is listed twice/],
      [(c) => { c.oidc.clients[0].client_secret = 'short'; }, /^oidc\.clients\[0\]\.client_secret/],
      [(c) => { c.oidc.clients[0].redirect_uris = ['javascript:alert(1)']; }, /^oidc\.clients\[0\]\.redirect_uris\[0\]/],
      [(c) => { c.oidc.colour = 'blue'; }, /^oidc(\.colour)?: .*colour/],
      [(c) => { delete c.oidc.acr_values; }, /^oidc.*acr_values/],
    ];
    for (const [change, expected] of cases) {
      const found = problems(withOidc(change));
      assert.ok(found.some((p) => expected.test(p)), `${expected}: ${found.join(' | ')}`);
    }
  });

  it('production refuses the development signing and cookie keys and an http issuer; OIDC_JWKS must be private keys', () => {
    const config = loadConfig(tempConfigDir().write('c.json', withOidc()), {});
    const keys = productionProblems(config, readSecrets({})).map((p) => p.key);
    for (const k of ['dev-oidc-jwks', 'dev-oidc-cookie-keys', 'oidc-http-issuer']) assert.ok(keys.includes(k), k);
    const dev = signingKeys(undefined, '.', {});
    assert.equal(dev.development, true);
    assert.equal(idTokenAlgorithm(dev.keys), 'ES256');
    assert.deepEqual(signingKeys(undefined, '.', {}).keys, dev.keys, 'the development key is the same in every process');
    const env = { OIDC_JWKS: JSON.stringify({ keys: [{ ...dev.keys[0], kid: 'prod' }] }), OIDC_COOKIE_KEYS: 'k1,k0' };
    assert.equal(signingKeys(undefined, '.', env).development, false);
    const withKeys = productionProblems(config, readSecrets(env)).map((p) => p.key);
    assert.ok(!withKeys.includes('dev-oidc-jwks') && !withKeys.includes('dev-oidc-cookie-keys'));
    const { d: _d, ...publicOnly } = dev.keys[0]!;
    assert.throws(() => signingKeys(undefined, '.', { OIDC_JWKS: JSON.stringify({ keys: [publicOnly] }) }), /private keys/);
    assert.throws(() => signingKeys(undefined, '.', { OIDC_JWKS: '{not json' }), /OIDC_JWKS is not JSON/);
  });
});
