import assert from 'node:assert/strict';
import { generate, generateSecret } from 'otplib';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { ValveDeps } from '../../src/pipes/types.js';
import { clearUsedTotpSteps } from '../../src/valves/totp-validate.js';

/** 10 s into a 30 s step. */
const EPOCH = 1_700_000_010;
const STEP = Math.floor(EPOCH / 30);
let nowMs = EPOCH * 1000;
const deps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => nowMs, production: false };

function totpPipe(config: Record<string, unknown> = {}) {
  return buildPipe({ id: 'totp', valves: [{ name: 'TotpValidate', config: { secret: '${exports.totp_secret}', ...config } }] }, deps);
}

function flow(secret: string, otp: string, state: Record<string, unknown> = {}) {
  return createFlowContext({ exports: { totp_secret: secret }, state: { otp, ...state } });
}

/** The code of the step `offset` steps from now. */
function codeAt(secret: string, offset: number, digits: 6 | 8 = 6): Promise<string> {
  return generate({ secret, epoch: EPOCH + offset * 30, digits });
}

describe('TotpValidate', () => {
  let secret: string;
  beforeEach(() => {
    nowMs = EPOCH * 1000;
    clearUsedTotpSteps();
    secret = generateSecret();
  });

  it('with window 1 accepts the codes of the steps -1, 0 and +1 and reports the step', async () => {
    for (const offset of [-1, 0, 1]) {
      clearUsedTotpSteps();
      const ctx = flow(secret, await codeAt(secret, offset));
      assert.deepEqual(await totpPipe().run(ctx), { ok: true }, `offset ${offset}`);
      assert.equal(ctx.state['totp_accepted'], true);
      assert.equal(ctx.state['totp_step'], STEP + offset);
    }
  });

  it('refuses the codes of the steps -2 and +2 with window 1, and accepts them with window 2', async () => {
    for (const offset of [-2, 2]) {
      const code = await codeAt(secret, offset);
      const inWindow = await Promise.all([-1, 0, 1].map((o) => codeAt(secret, o)));
      if (inWindow.includes(code)) continue; // a one-in-a-million collision would make the case meaningless
      const ctx = flow(secret, code);
      assert.deepEqual(await totpPipe().run(ctx), { ok: false, failure: { reason: 'INVALID OTP', message: 'the code does not match', valve: 'TotpValidate' } });
      assert.equal(ctx.state['totp_accepted'], undefined);
      clearUsedTotpSteps();
      assert.deepEqual(await totpPipe({ window: 2 }).run(flow(secret, code)), { ok: true }, `offset ${offset} with window 2`);
    }
  });

  it('window 0 accepts only the current step', async () => {
    assert.deepEqual(await totpPipe({ window: 0 }).run(flow(secret, await codeAt(secret, 0))), { ok: true });
    const previous = await totpPipe({ window: 0 }).run(flow(secret, await codeAt(secret, -1)));
    assert.equal(previous.ok, false);
  });

  it('refuses a replay of the same step, also from another flow and with the clock moved on', async () => {
    const code = await codeAt(secret, 0);
    assert.deepEqual(await totpPipe().run(flow(secret, code)), { ok: true });
    const again = await totpPipe().run(flow(secret, code));
    assert.equal(again.ok ? '' : again.failure.reason, 'INVALID OTP');
    nowMs += 30_000; // the step is now -1, still inside the window
    const later = await totpPipe().run(flow(secret, code));
    assert.equal(later.ok ? '' : later.failure.reason, 'INVALID OTP');
  });

  it('once a step is used, an earlier step is refused, a later one accepted', async () => {
    assert.deepEqual(await totpPipe().run(flow(secret, await codeAt(secret, 0))), { ok: true });
    assert.equal((await totpPipe().run(flow(secret, await codeAt(secret, -1)))).ok, false);
    assert.deepEqual(await totpPipe().run(flow(secret, await codeAt(secret, 1))), { ok: true });
  });

  it('two parallel entries of one code: exactly one is accepted', async () => {
    const code = await codeAt(secret, 0);
    const results = await Promise.all([totpPipe().run(flow(secret, code)), totpPipe().run(flow(secret, code))]);
    assert.deepEqual(results.map((r) => r.ok).sort(), [false, true]);
  });

  it('honours state.totp_last_step supplied by a caller that persists steps', async () => {
    const ctx = flow(secret, await codeAt(secret, 0), { totp_last_step: STEP });
    assert.equal((await totpPipe().run(ctx)).ok, false);
    const ok = flow(secret, await codeAt(secret, 1), { totp_last_step: STEP });
    assert.deepEqual(await totpPipe().run(ok), { ok: true });
    const beyond = flow(secret, await codeAt(secret, 1), { totp_last_step: STEP + 5 });
    assert.equal((await totpPipe().run(beyond)).ok, false);
  });

  it('refuses a wrong code, a code of the wrong length, nothing entered; accepts spaces and full-width digits', async () => {
    const right = await codeAt(secret, 0);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    for (const otp of [wrong, right.slice(0, 5), `${right}1`, '', 'abcdef']) {
      const result = await totpPipe().run(flow(secret, otp));
      assert.equal(result.ok ? '' : result.failure.reason, 'INVALID OTP', JSON.stringify(otp));
    }
    const spaced = `${right.slice(0, 3)} ${right.slice(3)}`.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    assert.deepEqual(await totpPipe().run(flow(secret, spaced)), { ok: true });
  });

  it('supports 8 digits', async () => {
    assert.deepEqual(await totpPipe({ digits: 8 }).run(flow(secret, await codeAt(secret, 0, 8))), { ok: true });
  });

  it('fails VALVE ERROR without a usable secret', async () => {
    for (const bad of ['', 'not base32!', 'MFRGG']) {
      const result = await totpPipe().run(flow(bad, '123456'));
      assert.equal(result.ok ? '' : result.failure.reason, 'VALVE ERROR', bad);
      assert.doesNotMatch(result.ok ? '' : result.failure.message ?? '', /MFRGG/);
    }
  });
});
