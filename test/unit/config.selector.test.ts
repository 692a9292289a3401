import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/config/config-error.js';
import { mountPaths } from '../../src/config/mount-path.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

/** Issue 21's bad input for a Selector: each a config error with its JSON path (check-config exits 2). */
function withSelector(change: (c: Record<string, any>) => void = () => {}): Record<string, any> {
  const c = validConfig();
  c.authenticators.push(
    { id: 'mail', type: 'OTP', config: { pre_pipe_id: 'send', pipe_id: 'validate', destination: { source: '${exports.email}' } } },
    { id: 'method', type: 'Selector', config: { base_path: '/authn', choices: [{ id: 'otp' }, { id: 'mail', available_if: 'exports.email != null' }] } },
    { id: 'login', type: 'Chain', config: { base_path: '/authn', chain: [{ id: 'method' }] } },
  );
  delete c.authenticators[0].config.base_path;
  change(c);
  return c;
}

function problems(config: Record<string, any>): string[] {
  const file = tempConfigDir().write('config.json', config);
  try {
    loadConfig(file, {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

function checkConfig(config: Record<string, any>) {
  const file = tempConfigDir().write('config.json', config);
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli-main.ts', 'check-config', file], { encoding: 'utf8', env: { ...process.env, OTP_SECRET: '', SESSION_SECRET: '' } });
}

describe('config: the Selector', () => {
  it('a valid selector loads; its choices are served under it, whatever their own base_path', () => {
    assert.deepEqual(problems(withSelector()), []);
    const config = loadConfig(tempConfigDir().write('c.json', withSelector()), {});
    const paths = mountPaths(config.authenticators);
    assert.equal(paths.get('method'), '/authn/method');
    assert.equal(paths.get('otp'), '/authn/method/otp');
    assert.equal(paths.get('mail'), '/authn/method/mail');
    assert.equal((config.authenticators.find((a) => a.id === 'method')!.config as { max_switches: number }).max_switches, 3, 'max_switches defaults to 3');
  });

  it('a choice that names no authenticator', () => {
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[2].config.choices.push({ id: 'sms' }); })),
      ['authenticators[2].config.choices[2].id: no authenticator has id "sms"']);
  });

  it('a selector choosing itself, and a chain that contains it, are cycles', () => {
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[2].config.choices.push({ id: 'method' }); })),
      ['authenticators[2].config.choices[2].id: a selector cannot choose itself (a cycle)']);
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[2].config.choices.push({ id: 'login' }); })),
      ['authenticators[2].config.choices[2].id: "login" is a Chain that contains this selector (a cycle)']);
  });

  it('an available_if that does not parse, or reaches outside the flow', () => {
    const [broken] = problems(withSelector((c) => { c.authenticators[2].config.choices[1].available_if = 'exports.email !='; }));
    assert.match(broken ?? '', /^authenticators\[2\]\.config\.choices\[1\]\.available_if: available_if does not parse/);
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[2].config.choices[1].available_if = 'process.env'; })),
      ['authenticators[2].config.choices[1].available_if: available_if may not use "process"']);
  });

  it('a default that is not a choice, a choice of two selectors, a choice that is also a chain step, max_switches out of range', () => {
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[2].config.default = 'sms'; })),
      ['authenticators[2].config.default: "sms" is not one of the choices (otp, mail)']);
    assert.deepEqual(problems(withSelector((c) => {
      c.authenticators.push({ id: 'again', type: 'Selector', config: { base_path: '/x', choices: [{ id: 'otp' }] } });
    })), ['authenticators[4].config.choices[0].id: "otp" is already a choice of the selector "method"; an authenticator belongs to one selector']);
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[3].config.chain.push({ id: 'mail' }); })),
      ['authenticators[2].config.choices[1].id: "mail" is also a step of a chain; put the selector "method" in the chain instead']);
    assert.equal(problems(withSelector((c) => { c.authenticators[2].config.max_switches = -1; })).length, 1);
  });

  it('the OTP choices of a selector need one subject and one allowed_otp_retry (one budget)', () => {
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[1].config.subject = '${exports.email}'; })),
      ['authenticators[2].config.choices[1].id: "mail" has subject "${exports.email}", "otp" "${exports.username}": the OTP choices of a selector share one attempt budget, so they need the same subject']);
    assert.deepEqual(problems(withSelector((c) => { c.authenticators[1].config.allowed_otp_retry = 5; })),
      ['authenticators[2].config.choices[1].id: "mail" has allowed_otp_retry 5, "otp" 2: the OTP choices of a selector share one attempt budget, so they need the same allowed_otp_retry']);
  });

  it('check-config: exit 2 with each problem and its path; a choice\'s own full path is a warning (exit 0)', () => {
    const bad = checkConfig(withSelector((c) => { c.authenticators[2].config.choices.push({ id: 'sms' }, { id: 'method' }); }));
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /2 errors in the configuration/);
    assert.match(bad.stderr, /authenticators\[2\]\.config\.choices\[2\]\.id: no authenticator has id "sms"/);
    assert.match(bad.stderr, /authenticators\[2\]\.config\.choices\[3\]\.id: a selector cannot choose itself/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    const warned = checkConfig(withSelector((c) => { c.authenticators[1].config.context_path = '/authn/method/mail'; }));
    assert.equal(warned.status, 0, warned.stderr);
    assert.equal(warned.stdout, 'OK\n');
    assert.match(warned.stderr, /^warning: .*authenticators\[1\]\.config\.context_path: ignored: "mail" is a choice of the selector "method" and is served under it, at \/authn\/method\/mail\n$/);
  });
});
