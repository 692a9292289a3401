import assert from 'node:assert/strict';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { ValveDeps } from '../../src/pipes/types.js';
import { spokenCode } from '../../src/valves/voice-call.js';
import { closedPort, startGatewayServer, type GatewayServer } from '../support/gateway-server.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');
const deps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => NOW, production: false };

function flow(language = 'en', code = '123456') {
  return createFlowContext({
    request: { language },
    authenticator: { id: 'otp', type: 'OTP', app_name: 'Demo SSO', code: { length: code.length, charset: 'numeric', ttl_seconds: 600 } },
    state: {
      destination: { kind: 'phone', address: '+4681234567', channel: 'sms', country: 'SE', line_type: 'landline' },
      code: { value: code, hash: 'h1.x' },
    },
  });
}

function voicePipe(config: Record<string, unknown>, timeoutMs?: number) {
  return buildPipe({ id: 'voice', valves: [{ name: 'VoiceCall', config, ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) }] }, deps);
}

describe('VoiceCall through an HTTP gateway', () => {
  let gw: GatewayServer;
  beforeEach(async () => { gw = await startGatewayServer(); });
  afterEach(async () => gw.close());

  it('reads a code character by character', () => {
    assert.equal(spokenCode('123456'), '1, 2, 3, 4, 5, 6');
    assert.equal(spokenCode('AB7K'), 'A, B, 7, K');
  });

  it('calls with the English text reading the code digit by digit, and records a voice delivery', async () => {
    const ctx = flow('en');
    const result = await voicePipe({
      url: `${gw.url}/v1/calls`,
      bearer_token: 'voice-token',
      body: { to: '{{to}}', say: '{{text}}', language: '{{lang}}', repeat: 2 },
    }).run(ctx);
    assert.deepEqual(result, { ok: true });
    const req = gw.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/calls');
    assert.equal(req.headers['authorization'], 'Bearer voice-token');
    assert.deepEqual(JSON.parse(req.body), {
      to: '+4681234567',
      say: 'Hello. Your Demo SSO code is: 1, 2, 3, 4, 5, 6. Once more: 1, 2, 3, 4, 5, 6. The code expires in 10 minutes.',
      language: 'en',
      repeat: 2,
    });
    assert.equal(ctx.state.destination?.channel, 'voice');
    assert.deepEqual(ctx.state.delivered, { channel: 'voice', to: '+4681234567', at: NOW });
  });

  it('uses the Swedish text in a Swedish flow, form-encoded with basic auth', async () => {
    await voicePipe({
      url: gw.url,
      body_format: 'form',
      basic_auth: { username: 'acct', password: 'pw' },
      body: { To: '{{to}}', Twiml: '<Response><Say language="sv-SE">{{text}}</Say></Response>' },
    }).run(flow('sv', '908172'));
    const form = new URLSearchParams(gw.requests[0]!.body);
    assert.equal(gw.requests[0]!.headers['authorization'], `Basic ${Buffer.from('acct:pw').toString('base64')}`);
    assert.equal(
      form.get('Twiml'),
      '<Response><Say language="sv-SE">Hej. Din kod för Demo SSO är: 9, 0, 8, 1, 7, 2. Jag upprepar: 9, 0, 8, 1, 7, 2. Koden gäller i 10 minuter.</Say></Response>',
    );
  });

  it('a 500 fails the flow FAILED TO SEND TO NUMBER and the channel stays as it was', async () => {
    gw.fallback = 500;
    const ctx = flow();
    const result = await voicePipe({ url: gw.url, body: {} }).run(ctx);
    assert.equal(result.ok ? '' : result.failure.reason, 'FAILED TO SEND TO NUMBER');
    assert.equal(result.ok ? '' : result.failure.message, 'the voice gateway answered HTTP 500');
    assert.equal(ctx.state.destination?.channel, 'sms');
    assert.equal(ctx.state.delivered, undefined);
  });

  it('a gateway that hangs fails within timeout_ms', async () => {
    gw.fallback = 'hang';
    const started = Date.now();
    const result = await voicePipe({ url: gw.url, body: {}, timeout_ms: 150 }, 2000).run(flow());
    assert.equal(result.ok ? '' : result.failure.message, 'the voice gateway did not answer within 150 ms');
    assert.ok(Date.now() - started < 1500);
  });

  it('a refused connection fails after 2 attempts', async () => {
    const result = await voicePipe({ url: `http://127.0.0.1:${await closedPort()}/`, body: {} }).run(flow());
    assert.equal(result.ok ? '' : result.failure.message, 'the voice gateway could not be reached (ECONNREFUSED, 2 attempts)');
  });
});
