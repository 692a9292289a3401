import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

/** The CLI as a user runs it: a child process, through tsx so no build is needed. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli-main.ts', ...args], { encoding: 'utf8', env: { ...process.env, OTP_SECRET: '', SESSION_SECRET: '' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('CLI: otp-authenticator check-config', () => {
  it('prints OK and exits 0 for the demo configuration', () => {
    const run = cli('check-config', 'config/default.json');
    assert.equal(run.stdout, 'OK\n');
    assert.equal(run.status, 0);
  });

  it('prints every error with file and path and exits 2', () => {
    const t = tempConfigDir();
    const c = validConfig();
    c.authenticators[0].config.pipe_id = 'nope';
    c.pipes[0].valves[1].name = 'Bogus';
    const file = t.write('broken.json', c);
    const run = cli('check-config', file);
    assert.equal(run.status, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^2 errors in the configuration:/);
    assert.match(run.stderr, /broken\.json: pipes\[0\]\.valves\[1\]\.name: unknown valve "Bogus"/);
    assert.match(run.stderr, /broken\.json: authenticators\[0\]\.config\.pipe_id: no pipe has id "nope"/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a file that is not JSON exits 2 with the position', () => {
    const t = tempConfigDir();
    const run = cli('check-config', t.write('x.json', '{ oops'));
    assert.equal(run.status, 2);
    assert.match(run.stderr, /x\.json: \(root\): is not valid JSON.*line 1, column 3/);
  });

  it('a missing file and a missing argument exit 2', () => {
    assert.equal(cli('check-config', 'no/such/file.json').status, 2);
    const bare = cli('check-config');
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /Usage: otp-authenticator check-config FILE/);
  });

  it('an unknown command prints usage and exits 2', () => {
    const run = cli('frobnicate');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /Unknown command "frobnicate"/);
  });
});
