import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';
import { call, Jar, type Answer } from '../support/oidc-demo.js';
import { ROOT } from '../support/otp-api.js';
import { oidcRecordKey } from '../../src/store/redis-oidc-adapter.js';
import { describeRedis, type TestRedisClient } from '../support/redis.js';
import { freePort, jsonLines, spawnDemo, stopProcess, waitHealthy, type DemoProcess } from '../support/redis-processes.js';

// Issue 23 on Redis: two demo processes (`src/server.ts`) with one issuer (A's URL), one signing key, one cookie key
// and one key prefix. The authorization starts at A, the interaction and the chain's steps (password, SMS code)
// run on B, the login resumes at A, and the code is exchanged at B's token endpoint: every provider record
// (interaction, session, grant, code, tokens) and the OTP report must live in Redis for that to work.

const SECRET = 'demo-rp-secret-for-development-only';
const ALICE = { username: 'alice', password: 'wonderland', to: '+46701234567' };

async function keysUnder(redis: TestRedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: pattern, COUNT: 500 })) keys.push(...batch);
  return keys.sort();
}

/** `url` on process `p` (same host, another port: the browser's cookies go along). */
function on(p: DemoProcess, url: string): string {
  const u = new URL(url);
  assert.equal(u.hostname, '127.0.0.1', `a redirect to another host: ${url}`);
  u.port = String(p.port);
  return u.href;
}

/** The ES256 signature of a compact JWS, checked against a JWK set by its kid (no library in between). */
function verifiedBy(jwt: string, jwks: { keys: Record<string, unknown>[] }): Record<string, unknown> {
  const [h = '', p = '', s = ''] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; kid: string };
  assert.equal(header.alg, 'ES256');
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `the kid ${header.kid} is in the key set`);
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')), 'the signature verifies');
  return JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
}

describeRedis('issue 23: one OIDC login across two demo processes on one Redis', (ctx) => {
  let dir: string;
  let outbox: string;
  const eventsFiles: string[] = [];
  let a: DemoProcess;
  let b: DemoProcess;
  let issuer: string;
  let redirectUri: string;
  const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'two-processes-es256', alg: 'ES256', use: 'sig' };

  function codesTo(to: string): string[] {
    return jsonLines(outbox).filter((m) => m.to === to).map((m) => /\b(\d{6})\b/.exec(String(m.text))?.[1] ?? '');
  }

  before(async function () {
    this.timeout(40_000);
    dir = mkdtempSync(path.join(os.tmpdir(), 'otp-oidc-two-'));
    outbox = path.join(dir, 'outbox.jsonl');
    const [portA, portB] = [await freePort(), await freePort()];
    assert.notEqual(portA, portB);
    issuer = `http://127.0.0.1:${portA}/oidc`;
    redirectUri = `http://127.0.0.1:${portA}/rp/callback`;
    const shared = {
      REDIS_URL: ctx.url, REDIS_PREFIX: ctx.prefix, OUTBOX_FILE: outbox,
      OTP_SECRET: 'oidc-two-processes-otp-secret', SESSION_SECRET: 'oidc-two-processes-session-secret',
      OIDC_ISSUER: issuer, OIDC_JWKS: JSON.stringify({ keys: [jwk] }), OIDC_COOKIE_KEYS: randomBytes(32).toString('base64url'),
    };
    const env = (name: string): Record<string, string> => {
      const events = path.join(dir, `events-${name}.jsonl`);
      eventsFiles.push(events);
      return { ...shared, EVENTS_FILE: events };
    };
    a = spawnDemo(ROOT, env('a'), portA!);
    b = spawnDemo(ROOT, env('b'), portB!);
    await Promise.all([waitHealthy(a), waitHealthy(b)]);
  });

  after(async () => {
    await Promise.all([stopProcess(a?.child, 'SIGKILL'), stopProcess(b?.child, 'SIGKILL')]);
  });

  it('both processes name the same issuer and publish the same signing key', async () => {
    const [da, db] = await Promise.all([a, b].map(async (p) => (await fetch(`${p.base}/oidc/.well-known/openid-configuration`)).json() as Promise<Record<string, unknown>>));
    assert.equal(da!.issuer, issuer);
    assert.equal(db!.issuer, issuer, 'B names A\'s URL as the issuer (OIDC_ISSUER, not its PORT)');
    // oidc-provider names its endpoints after the request's origin (the issuer stays fixed): B's are on B.
    assert.equal(db!.token_endpoint, `${b.base}/oidc/token`);
    assert.deepEqual(JSON.parse(JSON.stringify(db).replaceAll(b.base, a.base)), da, 'otherwise the same metadata');
    const [ka, kb] = await Promise.all([a, b].map(async (p) => (await fetch(`${p.base}/oidc/jwks`)).json() as Promise<{ keys: Record<string, unknown>[] }>));
    assert.deepEqual(ka!.keys.map((k) => k.kid), ['two-processes-es256']);
    assert.deepEqual(kb, ka);
    assert.equal(ka!.keys[0]!.d, undefined, 'the public half only');
  });

  it('authorization at A, interaction, password and SMS code on B, resume at A, code exchanged at B: a valid ID token (amr pwd+otp, acr mfa), userinfo with otp_report; the records are in Redis', async function () {
    this.timeout(30_000);
    const atA = await client.discovery(new URL(issuer), 'demo-rp', { client_secret: SECRET }, client.ClientSecretBasic(SECRET), { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });
    const md = atA.serverMetadata();
    assert.equal(md.token_endpoint, `${issuer}/token`);
    // The same client, but the token and userinfo endpoints (and the key set) of B.
    const { supportsPKCE: _pkce, ...metadata } = md;
    const atB = new client.Configuration({ ...metadata, token_endpoint: on(b, md.token_endpoint!), userinfo_endpoint: on(b, md.userinfo_endpoint!), jwks_uri: on(b, md.jwks_uri!) }, 'demo-rp', { client_secret: SECRET }, client.ClientSecretBasic(SECRET));
    client.allowInsecureRequests(atB);
    client.enableNonRepudiationChecks(atB);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authUrl = client.buildAuthorizationUrl(atA, {
      redirect_uri: redirectUri, scope: 'openid profile otp_report', state, nonce, acr_values: 'urn:otp:mfa',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    assert.ok(authUrl.href.startsWith(`${a.base}/oidc/auth?`), authUrl.href);

    const jar = new Jar();
    const hops: string[] = [];
    const get = async (url: string, accept?: string): Promise<Answer> => {
      hops.push(`${new URL(url).port === String(a.port) ? 'A' : 'B'} GET ${new URL(url).pathname}`);
      return call(jar, url, accept ? { accept } : {});
    };

    // 1. A: the authorization request makes an interaction (a record in Redis) and sends the browser to it.
    const started = await get(authUrl.href);
    assert.equal(started.status, 303, started.body.slice(0, 300));
    const uid = /^\/interaction\/([^/?]+)$/.exec(new URL(started.location!).pathname)?.[1];
    assert.ok(uid, `to the interaction: ${started.location}`);
    const record = (model: string, id: string) => oidcRecordKey(ctx.prefix, model, id);
    assert.equal(await ctx.client.exists(record('Interaction', uid)), 1, `A keeps the interaction in Redis: ${(await keysUnder(ctx.client, `${ctx.prefix}{oidc}:*`)).join(' ')}`);

    // 2. B: the interaction (A's record, A's signed _interaction cookie) starts the login chain.
    const interaction = await get(on(b, started.location!));
    assert.equal(interaction.status, 303, `B knows A's interaction: ${interaction.status} ${interaction.body.slice(0, 300)}`);
    let url = on(b, interaction.location!);
    for (let i = 0; i < 5 && !url.endsWith('/authn/password'); i += 1) {
      const r = await get(url);
      assert.ok(r.location, `${url}: ${r.status}`);
      url = on(b, r.location);
    }
    assert.equal(new URL(url).pathname, '/authn/password');

    // 3. B: the password step, then the Selector's default choice sends the SMS code; the code.
    const pwdPage = JSON.parse((await get(url, 'application/json')).body) as { csrf_token: string };
    const pwd = await call(jar, url, { method: 'POST', json: { type: 'start', data: { identifier: ALICE.username, password: ALICE.password } }, csrf: pwdPage.csrf_token, accept: 'application/json' });
    hops.push('B POST /authn/password');
    assert.deepEqual(JSON.parse(pwd.body), { status: 'COMPLETED', location: '/authn/method' });
    const method = await get(on(b, `${b.base}/authn/method`));
    assert.ok(method.status >= 300 && method.status < 400 && method.location, `the selector redirects to its default choice: ${method.status}`);
    const otpUrl = on(b, method.location!);
    assert.equal(new URL(otpUrl).pathname, '/authn/method/otp');
    const sent = codesTo(ALICE.to).length;
    const otpPage = JSON.parse((await get(otpUrl, 'application/json')).body) as { csrf_token: string; status: string };
    assert.equal(otpPage.status, 'PENDING');
    assert.equal(codesTo(ALICE.to).length, sent + 1, 'B sent one SMS');
    const done = await call(jar, otpUrl, { method: 'POST', json: { type: 'start', data: { otp: codesTo(ALICE.to).at(-1) } }, csrf: otpPage.csrf_token, accept: 'application/json' });
    hops.push('B POST /authn/method/otp');
    const completed = JSON.parse(done.body) as { status: string; location: string };
    assert.deepEqual(completed, { status: 'COMPLETED', location: `/interaction/${uid}/complete` });

    // 4. B: the interaction completes (the login result goes into A's interaction record in Redis).
    const finished = await get(on(b, new URL(completed.location, b.base).href));
    assert.equal(finished.status, 303, finished.body.slice(0, 300));
    assert.equal(new URL(finished.location!).pathname, `/oidc/auth/${uid}`);

    // 5. A: the resume reads B's result, makes the session and the code, and answers the client.
    const resumed = await get(on(a, finished.location!));
    assert.equal(resumed.status, 303, resumed.body.slice(0, 300));
    assert.ok(resumed.location?.startsWith(`${redirectUri}?`), `back to the client: ${resumed.location}`);
    const callback = new URL(resumed.location!);
    assert.equal(callback.searchParams.get('error'), null, callback.href);
    assert.equal(callback.searchParams.get('iss'), issuer);
    assert.deepEqual(hops, [
      'A GET /oidc/auth', `B GET /interaction/${uid}`, 'B GET /authn/login', 'B GET /authn/password', 'B POST /authn/password',
      'B GET /authn/method', 'B GET /authn/method/otp', 'B POST /authn/method/otp', `B GET /interaction/${uid}/complete`, `A GET /oidc/auth/${uid}`,
    ]);

    // 6. B: the token endpoint redeems A's code (PKCE, state, nonce, and the ID token's signature checked).
    const before = Math.floor(Date.now() / 1000);
    const tokens = await client.authorizationCodeGrant(atB, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, 'demo-rp');
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.acr, 'urn:otp:mfa');
    assert.ok(Array.isArray(claims.amr) && claims.amr.includes('pwd') && claims.amr.includes('otp'), `amr ${JSON.stringify(claims.amr)}`);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'sms', 'mfa']);
    assert.ok(typeof claims.auth_time === 'number' && claims.auth_time <= before + 1 && claims.auth_time >= before - 30, `auth_time ${claims.auth_time}`);
    const jwks = await (await fetch(`${a.base}/oidc/jwks`)).json() as { keys: Record<string, unknown>[] };
    assert.deepEqual(verifiedBy(tokens.id_token!, jwks), claims, 'B\'s ID token verifies with A\'s published key');

    // 7. Userinfo on B carries the report A stored at the resume; on A too.
    const infoB = await client.fetchUserInfo(atB, tokens.access_token, 'alice');
    const report = infoB.otp_report as { action: string; detail: string; status: string; properties: { channel: string; final_destination: string } } | undefined;
    assert.ok(report, `an otp_report on B: ${JSON.stringify(infoB)}`);
    assert.deepEqual([report.action, report.detail, report.status, report.properties.channel, report.properties.final_destination], ['PASS', 'ALL CHECKS PASSED', 'approved', 'sms', ALICE.to]);
    const infoA = await client.fetchUserInfo(atA, tokens.access_token, 'alice');
    assert.deepEqual(infoA, infoB, 'A takes the access token B issued');

    // 8. The records, in Redis under the prefix.
    const keys = await keysUnder(ctx.client, `${ctx.prefix}{oidc}:*`);
    const models = new Set(keys.map((k) => k.slice(ctx.prefix.length).split(':')[1]));
    for (const m of ['Session', 'Grant', 'AuthorizationCode', 'AccessToken', 'OtpReport', 'uid', 'grant']) assert.ok(models.has(m), `oidc:${m}:* in Redis: ${[...models].join(', ')}`);
    const code = callback.searchParams.get('code')!;
    const codeKey = record('AuthorizationCode', code);
    assert.equal(await ctx.client.exists(codeKey), 1, 'the code A issued, a record in Redis');
    assert.ok(Number(await ctx.client.hGet(codeKey, 'consumed')) >= before - 1, 'consumed by B\'s token endpoint');
    const access = JSON.parse((await ctx.client.hGet(record('AccessToken', tokens.access_token), 'payload'))!) as { accountId: string; clientId: string; grantId: string; sessionUid: string };
    assert.deepEqual([access.accountId, access.clientId], ['alice', 'demo-rp']);
    assert.equal(await ctx.client.exists(record('Grant', access.grantId)), 1, 'the grant');
    const sessionId = await ctx.client.get(`${ctx.prefix}{oidc}:uid:${access.sessionUid}`);
    assert.ok(sessionId, 'the session\'s uid index');
    assert.equal(await ctx.client.exists(record('Session', sessionId)), 1, 'the session A made at the resume');
    assert.equal(await ctx.client.exists(record('OtpReport', access.sessionUid)), 1, 'the report under the session uid');
    for (const key of keys) assert.ok((await ctx.client.pTTL(key)) > 0, `${key} expires`);

    // 9. The code B consumed is spent at A as well.
    const atAConfig = await client.discovery(new URL(issuer), 'demo-rp', { client_secret: SECRET }, client.ClientSecretBasic(SECRET), { execute: [client.allowInsecureRequests] });
    await assert.rejects(client.authorizationCodeGrant(atAConfig, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
      (e: { error?: string }) => e.error === 'invalid_grant');

    // 10. The OTP events of the login were written by B, none by A.
    const [eventsA, eventsB] = eventsFiles.map((f) => jsonLines(f).filter((e) => e.CUSTOMER_IDENTIFIER === 'alice'));
    assert.ok(eventsB!.length > 0, 'B logged the login\'s events');
    assert.deepEqual(eventsA, [], 'A ran no step of the chain');
  });
});
