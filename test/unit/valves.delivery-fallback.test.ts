import assert from 'node:assert/strict';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { FlowHooks, PipeDefinition, ValveDeps } from '../../src/pipes/types.js';
import { otpHarness } from '../support/otp-harness.js';
import { startGatewayServer, type GatewayServer } from '../support/gateway-server.js';

const deps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => 1_700_000_000_000, production: false };

/** The recipe of docs/valves.md: SMS, a voice call when the SMS failed, and a last guard. */
function fallbackPipe(sms: GatewayServer, voice: GatewayServer, id = 'otp-send'): PipeDefinition {
  return {
    id,
    valves: [
      { name: 'PhoneNormalize', config: { default_country: 'SE' } },
      { name: 'OtpGenerate' },
      { name: 'SmsSend', config: { url: `${sms.url}/sms`, body: { to: '{{to}}', text: '{{text}}' }, on_failure: 'continue' } },
      { name: 'VoiceCall', exec_if: "state.sms_failed || exports.requested_channel == 'voice'", config: { url: `${voice.url}/call`, body: { to: '{{to}}', say: '{{text}}', code: '{{code}}' } } },
      { name: 'FlowFail', exec_if: '!state.delivered', config: { reason: 'FAILED TO SEND TO NUMBER', message: 'no channel delivered the code' } },
    ],
  };
}

describe('Delivery fallback: SMS, then a voice call', () => {
  let sms: GatewayServer;
  let voice: GatewayServer;
  beforeEach(async () => {
    sms = await startGatewayServer();
    voice = await startGatewayServer();
  });
  afterEach(async () => {
    await sms.close();
    await voice.close();
  });

  function flow(hooks?: FlowHooks, exports?: Record<string, unknown>) {
    return createFlowContext({
      authenticator: { id: 'otp', type: 'OTP', app_name: 'Demo SSO', code: { length: 6, charset: 'numeric', ttl_seconds: 300 } },
      state: { transaction_id: 'tx-1', destination_input: '070-123 45 67' },
      ...(hooks ? { hooks } : {}),
      ...(exports ? { exports } : {}),
    });
  }

  it('a call asked for (the verification API\'s channel "voice"): no SMS at all, one call, the channel voice', async () => {
    const ctx = flow(undefined, { requested_channel: 'voice' });
    assert.deepEqual(await buildPipe(fallbackPipe(sms, voice), deps).run(ctx), { ok: true });
    assert.equal(sms.requests.length, 0);
    assert.equal(voice.requests.length, 1);
    assert.equal(ctx.state.destination?.channel, 'voice');
    assert.equal(ctx.state.delivered?.channel, 'voice');
  });

  it('an SMS asked for: a failed SMS is not followed by a call; the flow fails FAILED TO SEND TO NUMBER', async () => {
    sms.fallback = 500;
    const result = await buildPipe(fallbackPipe(sms, voice), deps).run(flow(undefined, { requested_channel: 'sms' }));
    assert.equal(result.ok, false);
    assert.equal(voice.requests.length, 0);
  });

  it('a caller\'s own text: {pin}, {fn} and {{code}} in one pass (a name that looks like a placeholder stays as it is)', async () => {
    const ctx = flow(undefined, { message_template: 'Hi {fn}: {pin} ({{code}})', fn: '{pin}' });
    assert.deepEqual(await buildPipe(fallbackPipe(sms, voice), deps).run(ctx), { ok: true });
    const code = ctx.state.code!.value;
    assert.equal(JSON.parse(sms.requests[0]!.body).text, `Hi {pin}: ${code} (${code})`);
  });

  it('after an SMS 500 the same code goes by voice; the delivery guard ran once; the channel is voice', async () => {
    sms.fallback = 500;
    const guarded: string[] = [];
    const ctx = flow({ async beforeDelivery(d) { guarded.push(d.address); return null; } });
    const result = await buildPipe(fallbackPipe(sms, voice), deps).run(ctx);
    assert.deepEqual(result, { ok: true });
    assert.equal(sms.requests.length, 1);
    assert.equal(voice.requests.length, 1);
    const call = JSON.parse(voice.requests[0]!.body) as { to: string; code: string; say: string };
    assert.equal(call.to, '+46701234567');
    assert.equal(call.code, ctx.state.code?.value);
    assert.equal(JSON.parse(sms.requests[0]!.body).text.slice(0, 6), ctx.state.code?.value, 'one code for both channels');
    assert.deepEqual(guarded, ['+46701234567'], 'one send reserved, not two');
    assert.equal(ctx.state['sms_failed'], true);
    assert.equal(ctx.state.destination?.channel, 'voice');
    assert.equal(ctx.state.delivered?.channel, 'voice');
  });

  it('a delivered SMS skips the voice call', async () => {
    const ctx = flow();
    assert.deepEqual(await buildPipe(fallbackPipe(sms, voice), deps).run(ctx), { ok: true });
    assert.equal(sms.requests.length, 1);
    assert.equal(voice.requests.length, 0);
    assert.equal(ctx.state.destination?.channel, 'sms');
    assert.equal(ctx.state['sms_failed'], undefined);
  });

  it('when both fail the flow fails FAILED TO SEND TO NUMBER at the voice call', async () => {
    sms.fallback = 500;
    voice.fallback = 502;
    const result = await buildPipe(fallbackPipe(sms, voice), deps).run(flow());
    assert.deepEqual(result, { ok: false, failure: { reason: 'FAILED TO SEND TO NUMBER', message: 'the voice gateway answered HTTP 502', valve: 'VoiceCall' } });
  });

  it('with the voice call disabled, the last FlowFail stops a flow that delivered nothing', async () => {
    sms.fallback = 500;
    const def = fallbackPipe(sms, voice);
    def.valves[3]!.enabled = false;
    const result = await buildPipe(def, deps).run(flow());
    assert.deepEqual(result, { ok: false, failure: { reason: 'FAILED TO SEND TO NUMBER', message: 'no channel delivered the code', valve: 'FlowFail' } });
    assert.equal(voice.requests.length, 0);
  });

  it('through the OTP authenticator: one code sent, counted once, the report says voice, and the code works', async () => {
    sms.fallback = 500;
    const h = await otpHarness({}, {}, { pipes: [fallbackPipe(sms, voice), { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] }] });
    try {
      const u = await h.user();
      assert.equal(sms.requests.length, 1);
      assert.equal(voice.requests.length, 1);
      const status = await u.send('status').expect(200);
      const report = status.body.report as { properties: { channel: string; codes_sent: number } };
      assert.equal(report.properties.channel, 'voice');
      assert.equal(report.properties.codes_sent, 1);
      const code = (JSON.parse(voice.requests[0]!.body) as { code: string }).code;
      const ok = await u.send('start', { otp: code }).expect(200);
      assert.equal(ok.body.status, 'COMPLETED');
    } finally {
      await h.close();
    }
  });

  it('through the OTP authenticator: both channels failing answers DELIVERY_FAILED and counts no code', async () => {
    sms.fallback = 500;
    voice.fallback = 500;
    const h = await otpHarness({}, {}, { pipes: [fallbackPipe(sms, voice), { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] }] });
    try {
      const u = await h.user();
      const status = await u.send('status').expect(200);
      const report = status.body.report as { detail: string; properties: { codes_sent: number } };
      assert.equal(report.properties.codes_sent, 0);
      assert.equal(report.detail, 'FAILED TO SEND TO NUMBER');
    } finally {
      await h.close();
    }
  });
});
