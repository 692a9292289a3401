import assert from 'node:assert/strict';
import request from 'supertest';
import { harnessPerTest, session, firstGet } from '../support/otp-api.js';
import { demoVariant } from '../support/demo-variant.js';

// Issue 13: clickjacking and script injection into the pages. helmet's CSP (src/web/security-headers.ts) lets a page
// load only its own script and style, never be framed, and post only to this site; user input reflected into a page
// is escaped. Already proven: script and style from self on the OTP page (test/http/web.pages-and-overlay.test.ts),
// CEF/JSON escaping of a username in events (test/unit/events.format.test.ts).

function assertLockedDown(res: request.Response, what: string): void {
  const csp = String(res.headers['content-security-policy'] ?? '');
  assert.ok(csp, `${what}: a CSP`);
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(' ')]));
  assert.equal(directives.get('default-src'), "'none'", `${what}: ${csp}`);
  assert.equal(directives.get('script-src'), "'self'", `${what}: ${csp}`);
  assert.equal(directives.get('frame-ancestors'), "'none'", `${what}: ${csp}`);
  assert.equal(directives.get('base-uri'), "'none'", `${what}: ${csp}`);
  assert.match(directives.get('form-action') ?? '', /^'self'/, `${what}: ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, `${what}: ${csp}`);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  assert.ok(res.headers['x-frame-options'], `${what}: X-Frame-Options for old browsers`);
  assert.equal(res.headers['x-powered-by'], undefined, `${what}: no X-Powered-By`);
}

describe('attack: framing and script injection (demo pages)', function () {
  this.timeout(20_000);
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  before(async () => { demo = await demoVariant(() => {}); });
  after(async () => { await demo.authn.close(); });

  it('every authenticator answer, page or JSON, carries the CSP that forbids framing and foreign script', async () => {
    const agent = request.agent(demo.app);
    assertLockedDown(await agent.get('/authn/password'), 'password page');
    assertLockedDown(await agent.get('/authn/password').set('Accept', 'application/json'), 'password JSON');
    assertLockedDown(await agent.get('/authn/method/otp'), 'OTP page, not in flow');
    assertLockedDown(await agent.get('/authn/login'), 'chain redirect');
    assertLockedDown(await agent.post('/authn/method/otp').send({ type: 'status' }), 'OTP CSRF refusal');
    assertLockedDown(await agent.get('/'), 'demo home');
  });

  it('what the user typed is never reflected as markup: identifier, language, query', async () => {
    const xss = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
    const agent = request.agent(demo.app);
    const page = await agent.get(`/authn/password?lng=${encodeURIComponent(xss)}&q=${encodeURIComponent(xss)}`);
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes('<script>alert') && !page.text.includes('<img src=x'), 'query not reflected raw');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const res = await agent.post('/authn/password').type('form').send({ _csrf: csrf, identifier: xss, password: 'x' });
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes('<script>alert') && !res.text.includes('<img src=x'), 'identifier not reflected raw');
    const lng = await agent.get('/authn/password').set('Accept-Language', xss);
    assert.ok(!lng.text.includes('<script>alert'), 'Accept-Language not reflected raw');
  });
});

describe('attack: script injection through a destination (OTP page)', () => {
  const h = harnessPerTest({ destination: { source: '${exports.mobile}', allow_change: true } });

  it('a destination with markup is refused and never rendered raw', async () => {
    const s = await session(h(), { username: 'alice', mobile: '<script>alert(1)</script>' });
    const json = await firstGet(s);
    assert.equal(json.status, 400);
    assert.equal(json.body.error.code, 'INVALID_DESTINATION');
    const page = await s.get('text/html');
    assert.ok(!page.text.includes('<script>alert'), page.text);
    const email = await session(h(), { username: 'bob', mobile: '"><svg onload=alert(1)>@example.com' });
    const res = await email.get('text/html');
    assert.ok(!res.text.includes('<svg onload'), res.text);
  });
});
