import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { FlowHooks, ValveDeps } from '../../src/pipes/types.js';
import { smsLength } from '../../src/valves/gsm7.js';
import { clearMessageCatalogues } from '../../src/valves/message-catalogue.js';
import { closedPort, startGatewayServer, type GatewayServer } from '../support/gateway-server.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');
const baseDeps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => NOW, production: false };

function flow(language = 'en', hooks?: FlowHooks) {
  return createFlowContext({
    request: { language, host: 'login.example.com:3000' },
    authenticator: { id: 'otp', type: 'OTP', app_name: 'Demo SSO', code: { length: 6, charset: 'numeric', ttl_seconds: 300 } },
    exports: { fn: 'Åsa', ln: 'Öberg' },
    state: {
      destination: { kind: 'phone', address: '+46701234567', channel: 'sms', country: 'SE', line_type: 'mobile' },
      code: { value: '123456', hash: 'h1.x' },
    },
    ...(hooks ? { hooks } : {}),
  });
}

function smsPipe(config: Record<string, unknown>, deps: ValveDeps = baseDeps, timeoutMs?: number) {
  return buildPipe({ id: 'sms', valves: [{ name: 'SmsSend', config, ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) }] }, deps);
}

describe('SmsSend through an HTTP gateway', () => {
  let gw: GatewayServer;
  beforeEach(async () => { gw = await startGatewayServer(); });
  afterEach(async () => gw.close());

  it('posts a form with basic auth, To/From/Body, the English text, and records the delivery', async () => {
    const pipe = smsPipe({
      url: `${gw.url}/2010-04-01/Accounts/AC123/Messages.json`,
      body_format: 'form',
      basic_auth: { username: 'AC123', password: 'tok-secret' },
      body: { To: '{{to}}', From: 'DemoSSO', Body: '{{text}}' },
    });
    const ctx = flow('en');
    assert.deepEqual(await pipe.run(ctx), { ok: true });
    assert.equal(gw.requests.length, 1);
    const req = gw.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/2010-04-01/Accounts/AC123/Messages.json');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers['authorization'], `Basic ${Buffer.from('AC123:tok-secret').toString('base64')}`);
    const form = new URLSearchParams(req.body);
    assert.deepEqual([...form.keys()], ['To', 'From', 'Body']);
    assert.equal(form.get('To'), '+46701234567');
    assert.equal(form.get('From'), 'DemoSSO');
    assert.equal(form.get('Body'), '123456 is your Demo SSO code. It expires in 5 minutes.');
    assert.deepEqual(ctx.state.delivered, { channel: 'sms', to: '+46701234567', at: NOW });
    assert.equal(ctx.state.destination?.channel, 'sms');
  });

  it('posts JSON with a bearer token and custom headers, the Swedish text, {{code}} and {{lang}}', async () => {
    const pipe = smsPipe({
      url: `${gw.url}/v1/messages`,
      headers: { 'X-Api-Version': '2' },
      bearer_token: 'bearer-secret',
      body: { to: ['{{to}}'], message: '{{text}}', meta: { code_length: 6, otp: '{{code}}', lang: '{{lang}}' }, flash: false },
    });
    const ctx = flow('sv');
    assert.deepEqual(await pipe.run(ctx), { ok: true });
    const req = gw.requests[0]!;
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['authorization'], 'Bearer bearer-secret');
    assert.equal(req.headers['x-api-version'], '2');
    assert.deepEqual(JSON.parse(req.body), {
      to: ['+46701234567'],
      message: '123456 är din kod för Demo SSO. Den gäller i 5 minuter.',
      meta: { code_length: 6, otp: '123456', lang: 'sv' },
      flash: false,
    });
  });

  it('a regional language tag (sv-SE) uses the Swedish text; an unknown language falls back to English', async () => {
    const pipe = smsPipe({ url: gw.url, body: { text: '{{text}}' } });
    await pipe.run(flow('sv-SE'));
    await pipe.run(flow('de'));
    assert.equal(JSON.parse(gw.requests[0]!.body).text, '123456 är din kod för Demo SSO. Den gäller i 5 minuter.');
    assert.equal(JSON.parse(gw.requests[1]!.body).text, '123456 is your Demo SSO code. It expires in 5 minutes.');
  });

  it('with webotp ends the SMS with "@host #code": the request host without its port, or webotp_host', async () => {
    await smsPipe({ url: gw.url, body: { text: '{{text}}' }, webotp: true }).run(flow('en'));
    await smsPipe({ url: gw.url, body: { text: '{{text}}' }, webotp: true, webotp_host: 'sso.example.org' }).run(flow('en'));
    const [a, b] = gw.requests.map((r) => JSON.parse(r.body).text as string);
    assert.equal(a, '123456 is your Demo SSO code. It expires in 5 minutes.\n\n@login.example.com #123456');
    assert.match(b ?? '', /\n\n@sso\.example\.org #123456$/);
  });

  it('GET puts the body fields into the query string', async () => {
    await smsPipe({ url: `${gw.url}/send?key=abc`, method: 'GET', body: { to: '{{to}}', msg: '{{text}}' } }).run(flow('en'));
    const req = gw.requests[0]!;
    assert.equal(req.method, 'GET');
    const query = new URL(req.path, 'http://x').searchParams;
    assert.equal(query.get('key'), 'abc');
    assert.equal(query.get('to'), '+46701234567');
    assert.equal(query.get('msg'), '123456 is your Demo SSO code. It expires in 5 minutes.');
  });

  it('a 500 fails FAILED TO SEND TO NUMBER once, naming the status but not the body or the credentials', async () => {
    gw.fallback = 500;
    const ctx = flow('en');
    const result = await smsPipe({ url: gw.url, basic_auth: { username: 'AC123', password: 'tok-secret' }, body: { t: '{{text}}' } }).run(ctx);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.failure.reason, 'FAILED TO SEND TO NUMBER');
    assert.equal(result.failure.valve, 'SmsSend');
    assert.match(result.failure.message ?? '', /HTTP 500/);
    assert.doesNotMatch(result.failure.message ?? '', /do-not-leak|tok-secret|AC123|127\.0\.0\.1/);
    assert.equal(gw.requests.length, 1, 'a non-2xx is not retried');
    assert.equal(ctx.state.delivered, undefined);
  });

  it('a 3xx is a failure too (redirects are not followed with the credentials)', async () => {
    gw.fallback = 302;
    const result = await smsPipe({ url: gw.url, bearer_token: 'x', body: {} }).run(flow());
    assert.equal(result.ok ? '' : result.failure.message, 'the SMS gateway answered HTTP 302');
  });

  it('a gateway that hangs fails within timeout_ms, without a retry', async () => {
    gw.fallback = 'hang';
    const started = Date.now();
    const result = await smsPipe({ url: gw.url, body: {}, timeout_ms: 200 }, baseDeps, 2000).run(flow());
    const elapsed = Date.now() - started;
    assert.equal(result.ok ? '' : result.failure.reason, 'FAILED TO SEND TO NUMBER');
    assert.equal(result.ok ? '' : result.failure.message, 'the SMS gateway did not answer within 200 ms');
    assert.ok(elapsed >= 190 && elapsed < 1500, `took ${elapsed} ms`);
    assert.equal(gw.requests.length, 1);
  });

  it('a connection refused is tried once more, then fails after 2 attempts', async () => {
    const port = await closedPort();
    const result = await smsPipe({ url: `http://127.0.0.1:${port}/send`, body: {}, timeout_ms: 2000 }).run(flow());
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.failure.reason, 'FAILED TO SEND TO NUMBER');
    assert.equal(result.failure.message, 'the SMS gateway could not be reached (ECONNREFUSED, 2 attempts)');
  });

  it('a dropped connection is retried once: the second attempt delivers', async () => {
    gw.answer('reset', 'ok');
    const ctx = flow();
    assert.deepEqual(await smsPipe({ url: gw.url, body: { t: '{{text}}' } }).run(ctx), { ok: true });
    assert.equal(gw.requests.length, 2);
    assert.equal(gw.requests[0]!.body, gw.requests[1]!.body);
    assert.equal(ctx.state.delivered?.channel, 'sms');
  });

  it('two dropped connections fail after exactly 2 attempts', async () => {
    gw.fallback = 'reset';
    const result = await smsPipe({ url: gw.url, body: {} }).run(flow());
    assert.equal(result.ok ? '' : result.failure.reason, 'FAILED TO SEND TO NUMBER');
    assert.match(result.ok ? '' : result.failure.message ?? '', /could not be reached \(\w+, 2 attempts\)/);
    assert.equal(gw.requests.length, 2);
  });

  it('calls the delivery guard before sending, and sends nothing when it refuses', async () => {
    const seen: string[] = [];
    const hooks: FlowHooks = {
      async beforeDelivery(d) {
        seen.push(d.address);
        return { reason: 'RATE LIMITED', message: 'sends_per_destination_per_minute' };
      },
    };
    const result = await smsPipe({ url: gw.url, body: {}, on_failure: 'continue' }).run(flow('en', hooks));
    assert.deepEqual(seen, ['+46701234567']);
    assert.equal(result.ok ? '' : result.failure.reason, 'RATE LIMITED', 'a refusal is never turned into a fallback');
    assert.equal(gw.requests.length, 0);
  });

  it('on_failure continue: a failed SMS sets state.sms_failed and passes', async () => {
    gw.fallback = 503;
    const ctx = flow();
    assert.deepEqual(await smsPipe({ url: gw.url, body: {}, on_failure: 'continue' }).run(ctx), { ok: true });
    assert.equal(ctx.state['sms_failed'], true);
    assert.equal(ctx.state['sms_failure'], 'the SMS gateway answered HTTP 503');
    assert.equal(ctx.state.delivered, undefined);
  });

  it('fails VALVE ERROR without a phone destination or a code, and sends nothing', async () => {
    const pipe = smsPipe({ url: gw.url, body: {} });
    const noCode = flow();
    delete noCode.state.code;
    const email = flow();
    email.state.destination = { kind: 'email', address: 'a@example.com', channel: 'email' };
    for (const ctx of [noCode, email]) {
      const result = await pipe.run(ctx);
      assert.equal(result.ok ? '' : result.failure.reason, 'VALVE ERROR');
    }
    assert.equal(gw.requests.length, 0);
  });

  it('refuses at build: an unknown placeholder, two kinds of credentials, a nested form field, a bad URL', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ url: gw.url, body: { t: '{{txt}}' } }, /unknown placeholder \{\{txt\}\}/],
      [{ url: gw.url, basic_auth: { username: 'a', password: 'b' }, bearer_token: 'c' }, /give one of them/],
      [{ url: gw.url, body_format: 'form', body: { a: { b: 'c' } } }, /body\/a/],
      [{ url: 'ftp://example.com/x' }, /not http/],
      [{ url: 'https://user:pw@example.com/x' }, /basic_auth/],
      [{ url: gw.url, webotp_host: 'bad host/x' }, /webotp_host/],
    ];
    for (const [config, message] of bad) assert.throws(() => smsPipe(config), message, JSON.stringify(config));
    assert.throws(() => smsPipe({ url: gw.url, timeout_ms: 60001 }), /timeout_ms/);
    assert.throws(() => smsPipe({ body: {} }), /url/);
  });
});

describe('SmsSend: the one-segment check when the valve is built', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'sms-messages-')); });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function overlay(lng: string, text: string): Promise<void> {
    await mkdir(path.join(dir, lng), { recursive: true });
    await writeFile(path.join(dir, lng, 'messages.json'), JSON.stringify({ sms: { code: text } }));
  }

  it('counts GSM-7 (extension characters twice) and UCS-2', () => {
    assert.deepEqual(smsLength('Hej åäö ÅÄÖ é'), { encoding: 'GSM-7', units: 13, singleSegment: 160, segments: 1 });
    assert.equal(smsLength('€[]').units, 6);
    assert.equal(smsLength('x'.repeat(161)).segments, 2);
    assert.deepEqual(smsLength('Kod 🙂'), { encoding: 'UCS-2', units: 6, singleSegment: 70, segments: 1 });
    assert.equal(smsLength('ł'.repeat(71)).segments, 2);
  });

  it('the shipped texts fit one segment (no warning), with webotp too', () => {
    const warnings: string[] = [];
    smsPipe({ url: 'http://127.0.0.1:9/x', app_name: 'Demo SSO', webotp: true, webotp_host: 'login.example.com' }, { ...baseDeps, warn: (m) => warnings.push(m) });
    assert.deepEqual(warnings, []);
  });

  it('warns once per language for a template that cannot fit, naming the language, the count and the limit', async () => {
    await overlay('sv', 'Hej {{fn}} {{ln}}! Här kommer din engångskod till tjänsten {{app}}: {{code}}. Koden gäller i {{minutes}} minuter. Dela den aldrig med någon, inte ens med oss.');
    const warnings: string[] = [];
    const deps: ValveDeps = { ...baseDeps, messagesDir: dir, warn: (m) => warnings.push(m) };
    smsPipe({ url: 'http://127.0.0.1:9/x' }, deps);
    smsPipe({ url: 'http://127.0.0.1:9/x' }, deps);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /^SmsSend: the "sv" text of sms\.code can take \d+ GSM-7 characters .*one SMS segment holds 160, so it may go as 2 segments$/);
  });

  it('a template that needs UCS-2 is held to 70 characters', async () => {
    await overlay('en', '🔐 {{code}} is your {{app}} code, valid {{minutes}} min.');
    const warnings: string[] = [];
    smsPipe({ url: 'http://127.0.0.1:9/x', app_name: 'Demo SSO' }, { ...baseDeps, messagesDir: dir, languages: ['en'], warn: (m) => warnings.push(m) });
    assert.equal(warnings.length, 0, 'short enough');
    await overlay('en', '🔐 {{code}} is your {{app}} code. It expires in {{minutes}} minutes. Never share it.');
    clearMessageCatalogues();
    smsPipe({ url: 'http://127.0.0.1:9/x', app_name: 'Demo SSO' }, { ...baseDeps, messagesDir: dir, languages: ['en'], warn: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /UCS-2 characters .*holds 70/);
  });

  it('uses the host translate function when given, and the overlay texts otherwise', async () => {
    const gw = await startGatewayServer();
    try {
      const calls: Array<[string, string]> = [];
      const translate = (lng: string, key: string, values: Record<string, unknown>) => {
        calls.push([lng, key]);
        return `T:${lng}:${key}:${String(values['code'])}:${String(values['fn'])}`;
      };
      await smsPipe({ url: gw.url, body: { t: '{{text}}' } }, { ...baseDeps, translate, languages: ['en'] }).run(flow('sv'));
      assert.equal(JSON.parse(gw.requests[0]!.body).t, 'T:sv:sms.code:123456:Åsa');
      assert.deepEqual(calls.at(-1), ['sv', 'sms.code']);

      await overlay('sv', 'Kod {{code}} till {{fn}} {{ln}}');
      await smsPipe({ url: gw.url, body: { t: '{{text}}' } }, { ...baseDeps, messagesDir: dir }).run(flow('sv'));
      assert.equal(JSON.parse(gw.requests[1]!.body).t, 'Kod 123456 till Åsa Öberg');
    } finally {
      await gw.close();
    }
  });
});
