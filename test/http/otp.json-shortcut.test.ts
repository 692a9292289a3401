import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import { assertErrorAnswer, harnessPerTest, translations, wrongCode } from '../support/otp-api.js';
import { OTP_PATH } from '../support/otp-harness.js';

// The JSON API's requests go straight to the authenticator's handler (src/authn/json-shortcut.ts) and their body is
// read without body-parser when it is plain JSON (src/http/body.ts). These show the shortcut answers as the router
// does, that the other spellings still take the router, and that every way a body can arrive is read right.

/** One raw HTTP/1.1 request on its own socket, `body` written in `pieces` with a pause between them. */
function rawPost(server: Server, headers: Record<string, string>, pieces: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => { text += d.toString(); });
    socket.on('error', reject);
    socket.on('end', () => {
      const at = text.indexOf('\r\n\r\n');
      const head = text.slice(0, at);
      let payload = text.slice(at + 4);
      if (/^transfer-encoding: chunked/im.test(head)) {
        let joined = '';
        for (let size = parseInt(payload, 16); size > 0; size = parseInt(payload, 16)) {
          const start = payload.indexOf('\r\n') + 2;
          joined += payload.slice(start, start + size);
          payload = payload.slice(start + size + 2);
        }
        payload = joined;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), body: JSON.parse(payload) as Record<string, unknown> });
    });
    const lines = [`POST ${OTP_PATH} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    let i = 0;
    const next = () => {
      if (i < pieces.length) socket.write(pieces[i++]!);
      if (i < pieces.length) setTimeout(next, 50);
    };
    next();
  });
}

describe('OTP API: JSON requests past the router', () => {
  const h = harnessPerTest({ allowed_otp_retry: 10 });
  const en = translations('en');
  const sv = translations('sv');

  it('a start answers alike through the shortcut and through the router (a trailing slash); the JSON answer carries the API headers', async () => {
    const u = await h().user();
    const codes = h().codes();
    const direct = await u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).send({ type: 'start', data: { otp: wrongCode(codes, 1) } });
    const routed = await u.agent.post(`${OTP_PATH}/`).set('X-CSRF-Token', u.csrf).send({ type: 'start', data: { otp: wrongCode(codes, 2) } });
    assertErrorAnswer(direct, 200, 'INVALID_OTP');
    assertErrorAnswer(routed, 200, 'INVALID_OTP');
    assert.equal(routed.body.attempts_left, direct.body.attempts_left - 1, 'both counted on the one transaction');
    assert.equal(direct.headers['cache-control'], 'no-store', 'an answer about a session is never cached');
    assert.equal(direct.headers['x-content-type-options'], 'nosniff');
    assert.match(String(direct.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/);
    assert.ok(direct.headers['x-frame-options']);
    // Which way each went: the router's answer has the headers meant for pages too.
    assert.equal(direct.headers['cross-origin-opener-policy'], undefined);
    assert.ok(routed.headers['cross-origin-opener-policy']);
  });

  it('a form post and a GET still take the router', async () => {
    const u = await h().user();
    const form = await u.agent.post(OTP_PATH).type('form').send({ _csrf: u.csrf, type: 'start', otp: wrongCode(h().codes()) });
    assert.equal(form.status, 200);
    assert.match(String(form.headers['content-type']), /text\/html/);
    const page = await u.agent.get(OTP_PATH);
    assert.match(String(page.headers['content-type']), /text\/html/);
  });

  it('the language of each answer is what the detector says, also when the same inputs come again (memoised)', async () => {
    const u = await h().user();
    const start = (seed: number) => u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).send({ type: 'start', data: { otp: wrongCode(h().codes(), seed) } });
    const messages = [
      (await start(1).set('Accept-Language', 'sv')).body.error.message,
      (await start(2).set('Accept-Language', 'en')).body.error.message,
      (await start(3).set('Accept-Language', 'sv').set('Cookie', 'lng=en')).body.error.message,
    ];
    assert.deepEqual(messages, [sv.otp_validation.ERROR, en.otp_validation.ERROR, en.otp_validation.ERROR], 'the cookie wins over Accept-Language');
  });

  it('the language cookie is read as the detector reads it: the last of two wins, a value with a space is no language', async () => {
    const u = await h().user();
    const start = (seed: number, cookie: string) => u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).set('Cookie', cookie).send({ type: 'start', data: { otp: wrongCode(h().codes(), seed) } });
    assert.equal((await start(1, 'lng=en; lng=sv')).body.error.message, sv.otp_validation.ERROR);
    assert.equal((await start(2, 'lng= sv')).body.error.message, en.otp_validation.ERROR);
  });

  it('every JSON answer, through the shortcut or the router, GET or POST, is never cached', async () => {
    const u = await h().user();
    const answers = [
      await u.agent.get(OTP_PATH).set('Accept', 'application/json'),
      await u.agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).send({ type: 'status' }),
      await u.agent.post(`${OTP_PATH}/`).set('X-CSRF-Token', u.csrf).send({ type: 'status' }),
      await u.agent.post(`${OTP_PATH}?lng=sv`).set('X-CSRF-Token', u.csrf).send({ type: 'status' }),
      await u.agent.post(OTP_PATH).send({ type: 'status' }),
    ];
    for (const res of answers) assert.equal(res.headers['cache-control'], 'no-store', `${res.status} ${res.text}`);
  });

  it('a host that parses JSON bodies itself before the router (express.json()) is answered as before, on either path', async () => {
    const { authn } = h();
    const app = express();
    app.use(authn.session);
    app.use(express.json());
    app.post('/test/exports', (req, res) => {
      req.session.authn = { trace_id: 'trace-host-json', exports: req.body as Record<string, unknown>, completed: [], counters: {} };
      res.json({ ok: true });
    });
    app.use(authn.router);
    app.use(authn.errorHandler);
    const agent = request.agent(app);
    await agent.post('/test/exports').send({ username: 'alice', mobile: '+46701234567' }).expect(200);
    const csrf = (await agent.get(OTP_PATH).set('Accept', 'application/json')).body.csrf_token as string;
    for (const path of [OTP_PATH, `${OTP_PATH}/`]) {
      const res = await agent.post(path).set('X-CSRF-Token', csrf).timeout(5000).send({ type: 'start', data: { otp: wrongCode(h().codes()) } });
      assertErrorAnswer(res, 200, 'INVALID_OTP');
    }
  });
});

describe('OTP API: every way a JSON body arrives', () => {
  const h = harnessPerTest();
  let server: Server;
  beforeEach(async () => { server = await new Promise((resolve) => { const s = h().app.listen(0, '127.0.0.1', () => resolve(s)); }); });
  afterEach(async () => { await new Promise((resolve) => server.close(resolve)); });

  async function credentials(): Promise<Record<string, string>> {
    const u = await h().user();
    const cookie = (await u.agent.jar.getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false }))
      .map((c) => `${c.name}=${c.value}`).join('; ');
    return { Cookie: cookie, 'X-CSRF-Token': u.csrf, Accept: 'application/json' };
  }

  it('in two pieces with a pause between (not all there when the handler runs)', async () => {
    const body = JSON.stringify({ type: 'start', data: { otp: wrongCode(h().codes()) } });
    const headers = { ...(await credentials()), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
    const res = await rawPost(server, headers, [body.slice(0, 10), body.slice(10)]);
    assert.equal(res.status, 200);
    assert.equal((res.body.error as { code: string }).code, 'INVALID_OTP');
    assert.equal(h().events.filter((e) => e.event_id === 'WEB_100020').length, 1, 'evaluated once');
  });

  it('a client that sends its start and goes at once: refused as an aborted request, or evaluated with its address in the event', async () => {
    const body = JSON.stringify({ type: 'start', data: { otp: wrongCode(h().codes()) } });
    const headers = { ...(await credentials()), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
    const { port } = server.address() as AddressInfo;
    for (let i = 0; i < 3; i += 1) {
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`POST ${OTP_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 500));
    const evaluated = h().events.filter((e) => e.event_id === 'WEB_100020');
    for (const e of evaluated) assert.match(String(e.SOURCE_ADDRESS), /127\.0\.0\.1/, 'no event without the address (SPEC section 4)');
    // And the server is still there for the next client.
    const res = await rawPost(server, { ...(await credentials()), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }, [body]);
    assert.equal((res.body.error as { code: string }).code, 'INVALID_OTP');
  });

  it('chunked, without a Content-Length (read by body-parser)', async () => {
    const body = JSON.stringify({ type: 'start', data: { otp: wrongCode(h().codes()) } });
    const headers = { ...(await credentials()), 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' };
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const res = await rawPost(server, headers, [chunk(body.slice(0, 7)), chunk(body.slice(7)), '0\r\n\r\n']);
    assert.equal(res.status, 200);
    assert.equal((res.body.error as { code: string }).code, 'INVALID_OTP');
  });

  it('with a byte-order mark: read as JSON; a bare JSON value or broken JSON: BAD_REQUEST (400), nothing evaluated', async () => {
    const creds = await credentials();
    const send = (text: string) => rawPost(server, { ...creds, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) }, [text]);
    const bom = await send(`\uFEFF${JSON.stringify({ type: 'start', data: { otp: wrongCode(h().codes()) } })}`);
    assert.equal((bom.body.error as { code: string }).code, 'INVALID_OTP');
    for (const text of ['"start"', '42', '{"type":"start",', ' ']) {
      const res = await send(text);
      assert.equal(res.status, 400, text);
      assert.equal((res.body.error as { code: string }).code, 'BAD_REQUEST', text);
    }
    assert.equal(h().events.filter((e) => e.event_id === 'WEB_100020').length, 1, 'only the BOM one was evaluated');
  });
});
