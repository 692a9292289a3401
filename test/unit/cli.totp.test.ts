import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateSecret } from 'otplib';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import { clearUsedTotpSteps } from '../../src/valves/totp-validate.js';

/** The CLI as a user runs it: a child process, through tsx so no build is needed. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli-main.ts', ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** RFC 6238 appendix B's SHA-1 secret, "12345678901234567890" in base32. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('CLI: otp-authenticator totp SECRET', function () {
  // Each case starts a node process (about a second each here).
  this.timeout(60_000);

  it('prints the RFC 6238 test vectors (SHA-1, 8 digits) at their times', () => {
    for (const [at, code] of [['59', '94287082'], ['1111111109', '07081804'], ['1234567890', '89005924'], ['2000000000', '69279037']]) {
      const run = cli('totp', RFC_SECRET, '--digits', '8', '--at', at!);
      assert.deepEqual([run.status, run.stdout, run.stderr], [0, `${code}\n`, ''], `at ${at}`);
    }
  });

  it('prints RFC 6238\'s SHA-256 and SHA-512 vectors with --algorithm', () => {
    // Appendix B's SHA-256 and SHA-512 secrets are the ASCII digits repeated to 32 and 64 bytes.
    const sha256 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA';
    const sha512 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA';
    assert.equal(cli('totp', sha256, '--digits', '8', '--algorithm', 'sha256', '--at', '59').stdout, '46119246\n');
    assert.equal(cli('totp', sha512, '--digits', '8', '--algorithm', 'sha512', '--at', '59').stdout, '90693936\n');
  });

  it('takes the secret as an app shows it (lower case, in groups) and prints 6 digits by default', () => {
    const run = cli('totp', 'gezd gnbv gy3t qojq gezd gnbv gy3t qojq', '--at', '59');
    assert.deepEqual([run.status, run.stdout], [0, '287082\n']);
  });

  it('prints the code of now, which TotpValidate accepts', async () => {
    clearUsedTotpSteps();
    const secret = generateSecret();
    const run = cli('totp', secret);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^\d{6}\n$/);
    const pipe = buildPipe({ id: 'totp', valves: [{ name: 'TotpValidate', config: { secret: '${exports.totp_secret}' } }] },
      { otpKeys: ['k'], configDir: '.', now: () => Date.now(), production: false });
    const ctx = createFlowContext({ exports: { totp_secret: secret }, state: { otp: run.stdout.trim() } });
    assert.deepEqual(await pipe.run(ctx), { ok: true });
  });

  it('refuses a secret that is not base32, one too short to be safe, and bad options, with exit 2 and no stack trace', () => {
    const runs = new Map<string, ReturnType<typeof cli>>();
    for (const args of [['totp', 'not base32!'], ['totp', 'JBSWY3DP'], ['totp'], ['totp', RFC_SECRET, '--digits', '5'], ['totp', RFC_SECRET, '--at', 'soon'], ['totp', RFC_SECRET, '--nope'], ['totp', RFC_SECRET, '--algorithm', 'md5']]) {
      const run = cli(...args);
      runs.set(args.join(' '), run);
      assert.equal(run.status, 2, args.join(' '));
      assert.equal(run.stdout, '', args.join(' '));
      assert.ok(run.stderr.length > 0, args.join(' '));
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.match(runs.get('totp not base32!')!.stderr, /not base32/);
    assert.match(runs.get('totp JBSWY3DP')!.stderr, /at least 16 bytes/);
  });
});
