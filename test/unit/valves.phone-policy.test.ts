import assert from 'node:assert/strict';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import { phoneNormalize } from '../../src/valves/phone-normalize.js';
import { phonePolicy } from '../../src/valves/phone-policy.js';
import type { PhonePolicyConfig } from '../../src/valves/phone-policy.js';

const deps = { otpKeys: ['k'], configDir: '.', now: () => 0, production: false };

async function decide(input: string, config: PhonePolicyConfig): Promise<string> {
  const ctx = createFlowContext({ state: { destination_input: input } });
  const normalised = await phoneNormalize({ default_country: 'SE' }, deps).run(ctx);
  if (normalised) return `normalize: ${normalised.fail.reason}`;
  const result = await phonePolicy(config, deps).run(ctx);
  return result ? result.fail.reason : `ok ${ctx.state.destination?.line_type} ${ctx.state.destination?.country}`;
}

describe('PhonePolicy', () => {
  const pumping = { do_not_send_to_types: ['premium_rate', 'shared_cost', 'toll_free'] };

  it('passes a Swedish mobile and landline, a UK mobile, a US number', async () => {
    assert.equal(await decide('070-123 45 67', pumping), 'ok mobile SE');
    assert.equal(await decide('08-123 456 78', pumping), 'ok landline SE');
    assert.equal(await decide('+44 7400 123456', pumping), 'ok mobile GB');
    assert.equal(await decide('+1 201 555 0123', pumping), 'ok fixed_line_or_mobile US');
  });

  it('refuses premium-rate, shared-cost and toll-free numbers', async () => {
    assert.equal(await decide('+44 909 879 0000', pumping), 'SUPPRESSED SENDING CODE');
    assert.equal(await decide('0939-12 34 56', pumping), 'SUPPRESSED SENDING CODE');
    assert.equal(await decide('0771-12 34 56', pumping), 'SUPPRESSED SENDING CODE');
    assert.equal(await decide('+1 800 555 0199', pumping), 'SUPPRESSED SENDING CODE');
  });

  it('refuses VoIP and landlines when told to', async () => {
    assert.equal(await decide('+44 56 1234 5678', { do_not_send_to_types: ['voip'] }), 'SUPPRESSED SENDING CODE');
    assert.equal(await decide('08-123 456 78', { do_not_send_to_types: ['landline'] }), 'SUPPRESSED SENDING CODE');
    assert.equal(await decide('070-123 45 67', { do_not_send_to_types: ['landline'] }), 'ok mobile SE');
  });

  it('FIXED_LINE_OR_MOBILE is refused only when both mobile and landline are', async () => {
    assert.equal(await decide('+1 201 555 0123', { do_not_send_to_types: ['landline'] }), 'ok fixed_line_or_mobile US');
    assert.equal(await decide('+1 201 555 0123', { do_not_send_to_types: ['mobile'] }), 'ok fixed_line_or_mobile US');
    assert.equal(await decide('+1 201 555 0123', { do_not_send_to_types: ['mobile', 'landline'] }), 'SUPPRESSED SENDING CODE');
  });

  it('country whitelist and blacklist', async () => {
    assert.equal(await decide('+44 7400 123456', { whitelist: ['SE', 'NO'] }), 'SUPPRESSED SENDING CODE');
    assert.equal(await decide('070-123 45 67', { whitelist: ['SE', 'NO'] }), 'ok mobile SE');
    assert.equal(await decide('+44 7400 123456', { blacklist: ['GB'] }), 'SUPPRESSED SENDING CODE');
    assert.equal(await decide('070-123 45 67', { blacklist: ['GB'] }), 'ok mobile SE');
  });

  it('garbage never reaches the policy: DATA CHECK FAILED', async () => {
    assert.equal(await decide('not a number', pumping), 'normalize: DATA CHECK FAILED');
    assert.equal(await decide('+46 99 0123456', pumping), 'normalize: DATA CHECK FAILED');
  });

  it('an e-mail destination passes untouched', async () => {
    const ctx = createFlowContext({ state: { destination: { kind: 'email', address: 'c@example.com', channel: 'email' } } });
    assert.equal(await phonePolicy({ whitelist: ['SE'] }, deps).run(ctx), undefined);
  });
});
