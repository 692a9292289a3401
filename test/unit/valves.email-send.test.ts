import assert from 'node:assert/strict';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { FlowHooks, ValveDeps } from '../../src/pipes/types.js';
import { escapeHtml } from '../../src/valves/email-send.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { closedPort } from '../support/gateway-server.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');
const deps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => NOW, production: false };

function flow(language: string, exports: Record<string, unknown> = {}, hooks?: FlowHooks) {
  return createFlowContext({
    request: { language },
    authenticator: { id: 'otp', type: 'OTP', app_name: 'Demo <SSO> & Co', code: { length: 8, charset: 'alphanumeric', ttl_seconds: 600 } },
    exports,
    state: {
      destination: { kind: 'email', address: 'alice@example.com', channel: 'email' },
      code: { value: 'K7M2QX9P', hash: 'h1.x' },
    },
    ...(hooks ? { hooks } : {}),
  });
}

describe('EmailSend through a real SMTP server', () => {
  let smtp: SmtpSink;
  before(async () => { smtp = await startSmtpSink(); });
  after(async () => smtp.close());
  beforeEach(() => { smtp.mails.length = 0; });

  function emailPipe(extra: Record<string, unknown> = {}) {
    return buildPipe(
      { id: 'mail', valves: [{ name: 'EmailSend', config: { host: '127.0.0.1', port: smtp.port, ignore_tls: true, from: 'Demo SSO <no-reply@example.com>', timeout_ms: 2000, ...extra } }] },
      deps,
    );
  }

  it('delivers the English message: recipient, sender, subject, text with the code, escaped HTML', async () => {
    const ctx = flow('en', { fn: '<b>Al</b>' });
    assert.deepEqual(await emailPipe({ auth: { user: 'mailer', pass: 'mail-secret' } }).run(ctx), { ok: true });
    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0]!;
    assert.deepEqual(mail.to, ['alice@example.com']);
    assert.equal(mail.from, 'no-reply@example.com');
    assert.deepEqual(mail.auth, { username: 'mailer', password: 'mail-secret' });
    assert.equal(mail.subject, 'Your Demo <SSO> & Co code');
    assert.match(mail.text, /^Hello <b>Al<\/b>,\n\nK7M2QX9P is your Demo <SSO> & Co code\. It expires in 10 minutes\./);
    assert.match(mail.html, /<html lang="en">/);
    assert.match(mail.html, /<p>Hello &lt;b&gt;Al&lt;\/b&gt;,<\/p>/);
    assert.match(mail.html, /<p>Your Demo &lt;SSO&gt; &amp; Co code is:<\/p>/);
    assert.match(mail.html, />K7M2QX9P<\/p>/);
    assert.doesNotMatch(mail.html, /<b>Al|<SSO>/);
    assert.equal(mail.headers['auto-submitted'], 'auto-generated');
    assert.deepEqual(ctx.state.delivered, { channel: 'email', to: 'alice@example.com', at: NOW });
    assert.equal(ctx.state.destination?.channel, 'email');
  });

  it('delivers the Swedish message in a Swedish flow, greeting without a name', async () => {
    assert.deepEqual(await emailPipe({ app_name: 'Bankappen' }).run(flow('sv')), { ok: true });
    const mail = smtp.mails[0]!;
    assert.equal(mail.subject, 'Din kod för Bankappen');
    assert.match(mail.text, /^Hej!\n\nK7M2QX9P är din kod för Bankappen\. Den gäller i 10 minuter\./);
    assert.match(mail.html, /<html lang="sv">/);
    assert.match(mail.html, /Din kod för Bankappen är:/);
    assert.equal(mail.auth, null);
  });

  it('calls the delivery guard first and sends nothing when it refuses', async () => {
    const hooks: FlowHooks = { beforeDelivery: async () => ({ reason: 'RATE LIMITED', message: 'sends_per_ip_per_hour' }) };
    const result = await emailPipe().run(flow('en', {}, hooks));
    assert.equal(result.ok ? '' : result.failure.reason, 'RATE LIMITED');
    assert.equal(smtp.mails.length, 0);
  });

  it('fails VALVE ERROR for a phone destination', async () => {
    const ctx = flow('en');
    ctx.state.destination = { kind: 'phone', address: '+46701234567', channel: 'sms' };
    const result = await emailPipe().run(ctx);
    assert.equal(result.ok ? '' : result.failure.reason, 'VALVE ERROR');
    assert.equal(smtp.mails.length, 0);
  });

  it('escapes HTML', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('EmailSend with the SMTP server down', () => {
  it('fails FAILED TO SEND TO NUMBER, naming the error code and not the credentials', async () => {
    const port = await closedPort();
    const pipe = buildPipe(
      { id: 'mail', valves: [{ name: 'EmailSend', config: { host: '127.0.0.1', port, ignore_tls: true, from: 'no-reply@example.com', auth: { user: 'u', pass: 'mail-secret' }, timeout_ms: 1000 } }] },
      deps,
    );
    const ctx = flow('en');
    const started = Date.now();
    const result = await pipe.run(ctx);
    assert.ok(Date.now() - started < 3000);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.failure.reason, 'FAILED TO SEND TO NUMBER');
    assert.match(result.failure.message ?? '', /^the SMTP server did not take the message \(E[A-Z]+/);
    assert.doesNotMatch(result.failure.message ?? '', /mail-secret/);
    assert.equal(ctx.state.delivered, undefined);
  });

  it('is refused at build without host or from', () => {
    assert.throws(() => buildPipe({ id: 'm', valves: [{ name: 'EmailSend', config: { host: 'x' } }] }, deps), /from/);
    assert.throws(() => buildPipe({ id: 'm', valves: [{ name: 'EmailSend', config: { from: 'a@b.se' } }] }, deps), /host/);
  });
});
