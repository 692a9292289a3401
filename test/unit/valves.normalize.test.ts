import assert from 'node:assert/strict';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import { normaliseEmail } from '../../src/valves/email-normalize.js';
import type { ValveDefinition, ValveDeps } from '../../src/pipes/types.js';

const deps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => 0, production: false };

async function run(valve: ValveDefinition, input: unknown) {
  const ctx = createFlowContext({ state: { destination_input: input as string } });
  const result = await buildPipe({ id: 'n', valves: [valve] }, deps).run(ctx);
  return { result, destination: ctx.state.destination };
}

describe('PhoneNormalize', () => {
  const se = { name: 'PhoneNormalize', config: { default_country: 'SE' } };

  it('reads a Swedish mobile in national format with default country SE', async () => {
    const { result, destination } = await run(se, '070-123 45 67');
    assert.deepEqual(result, { ok: true });
    assert.deepEqual(destination, { kind: 'phone', address: '+46701234567', channel: 'sms', country: 'SE', line_type: 'mobile' });
  });

  it('reads a UK mobile in international format whatever the default country', async () => {
    const { destination } = await run(se, '+44 7400 123456');
    assert.deepEqual(destination, { kind: 'phone', address: '+447400123456', channel: 'sms', country: 'GB', line_type: 'mobile' });
  });

  it('records a Swedish landline as landline, and the voice channel when configured', async () => {
    const { destination } = await run({ name: 'PhoneNormalize', config: { default_country: 'SE', channel: 'voice' } }, '08-123 456 78');
    assert.equal(destination?.address, '+46812345678');
    assert.equal(destination?.line_type, 'landline');
    assert.equal(destination?.channel, 'voice');
  });

  for (const garbage of ['not a number', '12', '+46 70 123', '', '+'.repeat(100), 46701234567]) {
    it(`fails DATA CHECK FAILED for ${JSON.stringify(garbage)}`, async () => {
      const { result, destination } = await run(se, garbage);
      assert.equal(!result.ok && result.failure.reason, 'DATA CHECK FAILED');
      assert.equal(destination, undefined);
    });
  }

  it('refuses a national number without a default country', async () => {
    const { result } = await run({ name: 'PhoneNormalize' }, '070-123 45 67');
    assert.equal(!result.ok && result.failure.reason, 'DATA CHECK FAILED');
  });
});

describe('EmailNormalize', () => {
  it('trims and lower-cases the domain, keeping the local part', async () => {
    const { result, destination } = await run({ name: 'EmailNormalize' }, '  Carol@Example.COM ');
    assert.deepEqual(result, { ok: true });
    assert.deepEqual(destination, { kind: 'email', address: 'Carol@example.com', channel: 'email' });
  });

  it('turns an international domain into its ASCII form', () => {
    assert.equal(normaliseEmail('anna@bücher.example'), 'anna@xn--bcher-kva.example');
  });

  for (const bad of ['carol', 'carol@', '@example.com', 'carol@localhost', 'ca rol@example.com', 'carol@exa_mple.com', 'a@b@c.com', 'carol@-x.com', 'carol@example.c0m', 'x'.repeat(65) + '@example.com', 'carol..x@example.com']) {
    it(`fails DATA CHECK FAILED for ${JSON.stringify(bad)}`, async () => {
      const { result } = await run({ name: 'EmailNormalize' }, bad);
      assert.equal(!result.ok && result.failure.reason, 'DATA CHECK FAILED');
    });
  }
});
