import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Provider, { errors, type AdapterConstructor, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import * as oidc from 'openid-client';
import { isStoreUnavailable } from '../../src/errors.js';
import { oidcRecordKey, redisOidcAdapter } from '../../src/store/redis-oidc-adapter.js';
import { describeRedis, type TestRedisClient } from '../support/redis.js';

// oidc-provider's Adapter contract (its semantics: /tmp/oidc-notes.md section 10) against real Redis, then logins
// through a real Provider and a real openid-client relying party, with the records checked in Redis itself.

/** What a key names instead of a secret: its SHA-256, hex (computed here, to pin the layout). */
const h = (value: string): string => createHash('sha256').update(value).digest('hex');

async function keysUnder(client: TestRedisClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
  return keys.sort();
}

/** Every key name under `prefix` and everything stored there (hash fields and values, set members, strings). */
async function dump(client: TestRedisClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const key of await keysUnder(client, prefix)) {
    out.push(key);
    const type = await client.type(key);
    if (type === 'hash') out.push(...Object.entries(await client.hGetAll(key)).flat());
    else if (type === 'zset') out.push(...(await client.zRange(key, 0, -1)));
    else if (type === 'set') out.push(...(await client.sMembers(key)));
    else if (type === 'string') out.push((await client.get(key)) ?? '');
    else assert.fail(`${key}: a ${type}, not expected`);
  }
  return out;
}

/** Asserts that none of `secrets` occurs in any key name or stored value under `prefix`. */
async function assertDumpHolds(client: TestRedisClient, prefix: string, secrets: Record<string, string>): Promise<void> {
  const all = await dump(client, prefix);
  assert.ok(all.length > 0, 'something was stored');
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(secret.length >= 4, `${what} is worth looking for: ${secret}`);
    const found = all.filter((s) => s.includes(secret));
    assert.deepEqual(found, [], `${what} (${secret}) is nowhere in the dump`);
  }
}

async function assertAllExpire(client: TestRedisClient, keys: readonly string[]): Promise<void> {
  for (const key of keys) assert.ok((await client.pTTL(key)) > 0, `${key} has a TTL (PTTL ${await client.pTTL(key)})`);
}

/** Just enough of a browser: cookies by path (oidc-provider scopes `_interaction` to `/interaction/<uid>`). */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const gone = value === '' || attributes.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now());
      if (gone) this.cookies.delete(`${name};${path}`);
      else this.cookies.set(`${name};${path}`, { name, value, path });
    }
  }

  header(url: string): string {
    const p = new URL(url).pathname;
    return [...this.cookies.values()]
      .filter((c) => p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/** Follows the redirects of an authorization request until it reaches `redirectUri`. */
async function authorize(start: URL, redirectUri: string): Promise<URL> {
  const jar = new CookieJar();
  let url = start.href;
  for (let hop = 0; hop < 10; hop += 1) {
    if (url.startsWith(redirectUri)) return new URL(url);
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) } });
    jar.take(res);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || location === null) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}

describeRedis('redis oidc adapter: oidc-provider\'s records on Redis', (ctx) => {
  let n = 0;
  /** Each test its own prefix (under the suite's), so a SCAN sees only what that test wrote. */
  const fresh = (client: TestRedisClient = ctx.client): { Adapter: AdapterConstructor; prefix: string } => {
    n += 1;
    const prefix = `${ctx.prefix}${n}:`;
    return { Adapter: redisOidcAdapter(client, prefix), prefix };
  };

  it('upsert then find round-trips the payload; every key written (record, grant, uid and user code indexes) has a TTL; a grant index lives as long as its longest member', async () => {
    const { Adapter, prefix } = fresh();
    const tokens = new Adapter('AccessToken');
    const payload = { jti: 'at1', kind: 'AccessToken', accountId: 'alice', grantId: 'g1', scope: 'openid', extra: { a: [1, 2] }, exp: 2e9 };
    await tokens.upsert('at1', payload, 600);
    assert.deepEqual(await tokens.find('at1'), payload);
    assert.equal(await tokens.find('nope'), undefined);
    await new Adapter('RefreshToken').upsert('rt1', { jti: 'rt1', grantId: 'g1' }, 86400);
    await new Adapter('AuthorizationCode').upsert('ac1', { jti: 'ac1', grantId: 'g1' }, 60);
    await new Adapter('Session').upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice' }, 3600);
    await new Adapter('DeviceCode').upsert('dc1', { jti: 'dc1', userCode: 'ABCD-EFGH', grantId: 'g2' }, 600);
    await new Adapter('Grant').upsert('g1', { jti: 'g1', accountId: 'alice', clientId: 'rp' }, 86400);

    const keys = await keysUnder(ctx.client, prefix);
    // Every record named by the SHA-256 of its id, but a Session's (and its uid index); the indexes by hashes too.
    assert.deepEqual(keys, [
      `{oidc}:AccessToken:${h('at1')}`, `{oidc}:AuthorizationCode:${h('ac1')}`, `{oidc}:DeviceCode:${h('dc1')}`, `{oidc}:Grant:${h('g1')}`,
      `{oidc}:RefreshToken:${h('rt1')}`, '{oidc}:Session:s1', `{oidc}:grant:${h('g1')}`, `{oidc}:grant:${h('g2')}`, '{oidc}:uid:u1',
      `{oidc}:user_code:${h('ABCD-EFGH')}`,
    ].map((k) => `${prefix}${k}`).sort());
    assert.equal(oidcRecordKey(prefix, 'AccessToken', 'at1'), `${prefix}{oidc}:AccessToken:${h('at1')}`);
    assert.equal(oidcRecordKey(prefix, 'Session', 's1'), `${prefix}{oidc}:Session:s1`);
    await assertAllExpire(ctx.client, keys);
    // The stored JSON has no jti (find put it back), but a Session's has.
    const stored = JSON.parse((await ctx.client.hGet(`${prefix}{oidc}:AccessToken:${h('at1')}`, 'payload'))!) as Record<string, unknown>;
    assert.deepEqual(stored, { kind: 'AccessToken', accountId: 'alice', grantId: 'g1', scope: 'openid', extra: { a: [1, 2] }, exp: 2e9 });
    assert.equal(await ctx.client.hGet(`${prefix}{oidc}:AccessToken:${h('at1')}`, 'ids'), '["jti"]');
    assert.equal(JSON.parse((await ctx.client.hGet(`${prefix}{oidc}:Session:s1`, 'payload'))!).jti, 's1');
    // The refresh token (a day) outlives the access token and the code written after it: the index is not shortened.
    assert.ok((await ctx.client.pTTL(`${prefix}{oidc}:grant:${h('g1')}`)) > 86_000_000);
    assert.deepEqual((await ctx.client.zRange(`${prefix}{oidc}:grant:${h('g1')}`, 0, -1)).sort(),
      [`AccessToken:${h('at1')}`, `AuthorizationCode:${h('ac1')}`, `RefreshToken:${h('rt1')}`].map((k) => `${prefix}{oidc}:${k}`));

    await assert.rejects(new Adapter('Client').upsert('c1', { client_id: 'c1' }), TypeError, 'no expiresIn: refused');
    assert.deepEqual(await keysUnder(ctx.client, `${prefix}{oidc}:Client:`), []);
  });

  /** oidc-provider's InvalidGrant (what the token endpoint answers as invalid_grant), its detail matching `detail`. */
  const isInvalidGrant = (detail: RegExp) => (e: unknown) =>
    e instanceof errors.InvalidGrant && e.error === 'invalid_grant' && detail.test(String(e.error_detail));

  it('consume marks the record consumed (find shows it, the TTL stays); on a missing id it creates nothing and throws InvalidGrant', async () => {
    const { Adapter, prefix } = fresh();
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('ac1', { jti: 'ac1', grantId: 'g1' }, 60);
    assert.equal((await codes.find('ac1'))?.consumed, undefined);
    await codes.consume('ac1');
    const consumed = (await codes.find('ac1'))?.consumed as unknown;
    assert.ok(typeof consumed === 'number' && consumed > 0, `consumed is a timestamp: ${String(consumed)}`);
    assert.ok((await ctx.client.pTTL(`${prefix}{oidc}:AuthorizationCode:${h('ac1')}`)) > 0);
    await assert.rejects(codes.consume('missing'), isInvalidGrant(/^authorization code not found$/));
    assert.deepEqual(await keysUnder(ctx.client, `${prefix}{oidc}:AuthorizationCode:`), [`${prefix}{oidc}:AuthorizationCode:${h('ac1')}`]);
    assert.equal(await codes.find('missing'), undefined);
  });

  it('consume is a check-and-set: of ten parallel consumes of one code (on two connections) exactly one succeeds, the other nine throw InvalidGrant, and the code\'s grant is revoked (its Grant, every token of its index, the index), another grant untouched', async () => {
    const { Adapter, prefix } = fresh();
    const Other = redisOidcAdapter(await ctx.newClient(), prefix);
    await new Adapter('Grant').upsert('g1', { jti: 'g1', accountId: 'alice', clientId: 'rp' }, 3600);
    await new Adapter('AuthorizationCode').upsert('ac1', { jti: 'ac1', grantId: 'g1' }, 60);
    await new Adapter('AccessToken').upsert('at1', { jti: 'at1', grantId: 'g1' }, 600);
    await new Adapter('RefreshToken').upsert('rt1', { jti: 'rt1', grantId: 'g1' }, 3600);
    await new Adapter('Grant').upsert('g2', { jti: 'g2', accountId: 'bob', clientId: 'rp' }, 3600);
    await new Adapter('AccessToken').upsert('at2', { jti: 'at2', grantId: 'g2' }, 600);
    const before = await keysUnder(ctx.client, prefix);

    // Each call its own adapter instance, as each request of the provider finds and consumes on its own.
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => new (i % 2 === 0 ? Adapter : Other)('AuthorizationCode').consume('ac1')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one consume wins');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(refused.length, 9);
    // A loser sees the code either consumed or, once another loser revoked the grant, gone.
    for (const r of refused) assert.ok(isInvalidGrant(/^authorization code (already consumed|not found)$/)(r.reason), String(r.reason));
    assert.ok(refused.some((r) => /already consumed/.test(String((r.reason as { error_detail?: string }).error_detail))));

    const g1 = [`Grant:${h('g1')}`, `AuthorizationCode:${h('ac1')}`, `AccessToken:${h('at1')}`, `RefreshToken:${h('rt1')}`, `grant:${h('g1')}`]
      .map((k) => `${prefix}{oidc}:${k}`);
    for (const k of g1) assert.ok(before.includes(k), k);
    assert.deepEqual(await keysUnder(ctx.client, prefix), before.filter((k) => !g1.includes(k)), 'the grant\'s keys are gone, the rest stay');
    assert.equal((await new Adapter('AccessToken').find('at2'))?.grantId, 'g2');
    assert.equal((await new Adapter('Grant').find('g2'))?.accountId, 'bob');
    // Once it is gone, a code is refused: it gives no tokens, and consuming it again creates nothing.
    await assert.rejects(new Adapter('AuthorizationCode').consume('ac1'), isInvalidGrant(/not found/));
    assert.equal(await ctx.client.exists(`${prefix}{oidc}:AuthorizationCode:${h('ac1')}`), 0);
  });

  it('a refresh token consumed twice (rotation raced) revokes its grant; a pushed authorization request consumed twice is InvalidRequestUri', async () => {
    const { Adapter, prefix } = fresh();
    await new Adapter('Grant').upsert('g1', { jti: 'g1', accountId: 'alice', clientId: 'rp' }, 3600);
    await new Adapter('RefreshToken').upsert('rt1', { jti: 'rt1', grantId: 'g1' }, 3600);
    await new Adapter('AccessToken').upsert('at1', { jti: 'at1', grantId: 'g1' }, 600);
    await new Adapter('RefreshToken').consume('rt1');
    // The rotation's new refresh token, saved before the replay's consume: revoked with the rest.
    await new Adapter('RefreshToken').upsert('rt2', { jti: 'rt2', grantId: 'g1' }, 3600);
    await assert.rejects(new Adapter('RefreshToken').consume('rt1'), isInvalidGrant(/^refresh token already consumed$/));
    assert.deepEqual(await keysUnder(ctx.client, prefix), []);

    const pars = new Adapter('PushedAuthorizationRequest');
    await pars.upsert('par1', { jti: 'par1', request: 'eyJ.request.jwt' }, 60);
    const results = await Promise.allSettled([pars.consume('par1'), pars.consume('par1'), pars.consume('par1')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof errors.InvalidRequestUri && r.reason.error === 'invalid_request_uri', String(r.reason));
    }
    assert.ok((await pars.find('par1'))?.consumed, 'a request without a grant stays, consumed');
    await assert.rejects(pars.consume('missing'), errors.InvalidRequestUri);
  });

  it('destroy removes the record and its lookup key', async () => {
    const { Adapter, prefix } = fresh();
    const interactions = new Adapter('Interaction');
    await interactions.upsert('i1', { jti: 'i1', kind: 'Interaction' }, 600);
    await interactions.destroy('i1');
    assert.equal(await interactions.find('i1'), undefined);
    const devices = new Adapter('DeviceCode');
    await devices.upsert('dc1', { jti: 'dc1', userCode: 'WXYZ' }, 600);
    assert.equal((await devices.findByUserCode('WXYZ'))?.jti, 'dc1');
    await devices.destroy('dc1');
    assert.equal(await devices.findByUserCode('WXYZ'), undefined);
    await interactions.destroy('never-was');
    assert.deepEqual(await keysUnder(ctx.client, prefix), []);
  });

  it('findByUid follows a session whose id rotates (destroy(old) then upsert(new), same uid), in either order', async () => {
    const { Adapter, prefix } = fresh();
    const sessions = new Adapter('Session');
    await sessions.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice' }, 3600);
    assert.equal((await sessions.findByUid('u1'))?.jti, 's1');
    await sessions.destroy('s1');
    assert.equal(await sessions.findByUid('u1'), undefined);
    await sessions.upsert('s2', { jti: 's2', uid: 'u1', accountId: 'alice' }, 3600);
    assert.equal((await sessions.findByUid('u1'))?.jti, 's2');
    assert.ok((await ctx.client.pTTL(`${prefix}{oidc}:uid:u1`)) > 0);
    // The new id written before the old one is destroyed: the uid stays with the new one.
    await sessions.upsert('s3', { jti: 's3', uid: 'u1', accountId: 'alice' }, 3600);
    await sessions.destroy('s2');
    assert.equal((await sessions.findByUid('u1'))?.jti, 's3');
  });

  it('findByUserCode finds a device code by its user code, and nothing for another code', async () => {
    const { Adapter } = fresh();
    const devices = new Adapter('DeviceCode');
    await devices.upsert('dc1', { jti: 'dc1', userCode: 'ABCD-EFGH', grantId: 'g1' }, 600);
    assert.equal((await devices.findByUserCode('ABCD-EFGH'))?.jti, 'dc1');
    assert.equal(await devices.findByUserCode('ABCD-EFGX'), undefined);
  });

  it('revokeByGrantId deletes every member of the grant (across models) and the index, and nothing of another grant', async () => {
    const { Adapter, prefix } = fresh();
    const at = new Adapter('AccessToken');
    const rt = new Adapter('RefreshToken');
    const ac = new Adapter('AuthorizationCode');
    for (let i = 0; i < 3; i += 1) await at.upsert(`at${i}`, { jti: `at${i}`, grantId: 'g1' }, 600);
    await rt.upsert('rt1', { jti: 'rt1', grantId: 'g1' }, 86400);
    await ac.upsert('ac1', { jti: 'ac1', grantId: 'g1' }, 60);
    await at.upsert('other', { jti: 'other', grantId: 'g2' }, 600);
    await at.revokeByGrantId('g1');
    assert.deepEqual(await keysUnder(ctx.client, prefix), [`${prefix}{oidc}:AccessToken:${h('other')}`, `${prefix}{oidc}:grant:${h('g2')}`]);
    assert.equal(await rt.find('rt1'), undefined);
    await at.revokeByGrantId('no-such-grant');
  });

  it('expiry: a record written with expiresIn 1 is gone a second later, with its indexes', async function () {
    this.timeout(5000);
    const { Adapter, prefix } = fresh();
    const sessions = new Adapter('Session');
    await sessions.upsert('s1', { jti: 's1', uid: 'u1' }, 1);
    await new Adapter('AccessToken').upsert('at1', { jti: 'at1', grantId: 'g1' }, 1);
    assert.equal((await sessions.findByUid('u1'))?.jti, 's1');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await sessions.find('s1'), undefined);
    assert.equal(await sessions.findByUid('u1'), undefined);
    for (const k of ['Session:s1', 'uid:u1', `AccessToken:${h('at1')}`, `grant:${h('g1')}`]) assert.equal(await ctx.client.exists(`${prefix}{oidc}:${k}`), 0, k);
  });

  it('a dump names no id but a session\'s: no key and no stored value holds a token\'s id, a user code, or the device code, pushed request and resume URL an interaction names; find and findByUserCode give them back', async () => {
    const { Adapter, prefix } = fresh();
    const secrets = {
      at: 'AT-secret-value', rt: 'RT-secret-value', code: 'AC-secret-value', device: 'DC-secret-value', userCode: 'QRST-VWXZ',
      interaction: 'IA-secret-uid', par: 'PAR-secret-value', ciba: 'CIBA-secret-value', cc: 'CC-secret-value',
    };
    // A grant id is no bearer secret (the tokens' payloads carry it, for the provider), but no key is named by it.
    const grantId = 'G-grant-id';
    await new Adapter('AccessToken').upsert(secrets.at, { jti: secrets.at, grantId: grantId, kind: 'AccessToken' }, 600);
    await new Adapter('RefreshToken').upsert(secrets.rt, { jti: secrets.rt, grantId: grantId, kind: 'RefreshToken' }, 600);
    await new Adapter('AuthorizationCode').upsert(secrets.code, { jti: secrets.code, grantId: grantId }, 60);
    await new Adapter('BackchannelAuthenticationRequest').upsert(secrets.ciba, { jti: secrets.ciba, grantId: grantId }, 60);
    await new Adapter('ClientCredentials').upsert(secrets.cc, { jti: secrets.cc, clientId: 'rp' }, 60);
    await new Adapter('Grant').upsert(grantId, { jti: grantId, accountId: 'alice' }, 600);
    const device = { jti: secrets.device, userCode: secrets.userCode, grantId: grantId, params: { scope: 'openid' } };
    await new Adapter('DeviceCode').upsert(secrets.device, device, 600);
    const par = { jti: secrets.par, request: 'eyJ.request.jwt' };
    await new Adapter('PushedAuthorizationRequest').upsert(secrets.par, par, 60);
    const interaction = {
      jti: secrets.interaction, kind: 'Interaction', deviceCode: secrets.device, parJti: secrets.par,
      returnTo: `https://op.example/oidc/auth/${secrets.interaction}`, params: { client_id: 'rp' },
    };
    await new Adapter('Interaction').upsert(secrets.interaction, interaction, 600);
    await new Adapter('Session').upsert('s1', { jti: 's1', uid: 'u1' }, 600);

    await assertDumpHolds(ctx.client, prefix, secrets);
    assert.deepEqual((await keysUnder(ctx.client, prefix)).filter((k) => k.includes(grantId)), []);
    assert.deepEqual(await new Adapter('Interaction').find(secrets.interaction), interaction);
    assert.deepEqual(await new Adapter('DeviceCode').find(secrets.device), device);
    assert.deepEqual(await new Adapter('DeviceCode').findByUserCode(secrets.userCode), device);
    assert.deepEqual(await new Adapter('PushedAuthorizationRequest').find(secrets.par), par);
    assert.equal((await new Adapter('Session').findByUid('u1'))?.jti, 's1');
    // A sealed field does not open under another id: a record copied under another name is nothing.
    const sealed = await ctx.client.hGet(oidcRecordKey(prefix, 'Interaction', secrets.interaction), 'sealed');
    assert.ok(typeof sealed === 'string');
    await ctx.client.hSet(oidcRecordKey(prefix, 'Interaction', 'other-uid'), { payload: '{}', sealed });
    assert.equal(await new Adapter('Interaction').find('other-uid'), undefined);

    // A user code taken over by a newer device code stays with it when the older one is destroyed.
    await new Adapter('DeviceCode').upsert('DC-newer', { jti: 'DC-newer', userCode: secrets.userCode }, 600);
    await new Adapter('DeviceCode').destroy(secrets.device);
    assert.equal((await new Adapter('DeviceCode').findByUserCode(secrets.userCode))?.jti, 'DC-newer');
    await new Adapter('DeviceCode').destroy('DC-newer');
    assert.deepEqual(await keysUnder(ctx.client, `${prefix}{oidc}:user_code:`), []);
  });

  it('two connections (two processes, in effect) see the same records, consumptions and revocations', async () => {
    const { Adapter, prefix } = fresh();
    const Other = redisOidcAdapter(await ctx.newClient(), prefix);
    await new Adapter('AuthorizationCode').upsert('ac1', { jti: 'ac1', grantId: 'g1' }, 60);
    await new Other('AuthorizationCode').consume('ac1');
    assert.ok((await new Adapter('AuthorizationCode').find('ac1'))?.consumed);
    await new Other('Session').upsert('s1', { jti: 's1', uid: 'u1' }, 600);
    assert.equal((await new Adapter('Session').findByUid('u1'))?.jti, 's1');
    await new Other('AccessToken').revokeByGrantId('g1');
    assert.equal(await new Adapter('AuthorizationCode').find('ac1'), undefined);
  });

  it('an outage (the connection closed) is StoreUnavailableError, not a raw Redis error', async () => {
    const gone = await ctx.newClient();
    await gone.close();
    const sessions = new (redisOidcAdapter(gone, ctx.prefix))('Session');
    await assert.rejects(sessions.find('s1'), (e: unknown) => isStoreUnavailable(e));
    await assert.rejects(sessions.upsert('s1', { jti: 's1', uid: 'u1' }, 60), (e: unknown) => isStoreUnavailable(e));
  });

  describe('end to end: a real Provider on the adapter, an openid-client RP, authorization code + PKCE', () => {
    const servers: Server[] = [];
    after(() => {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    });

    /**
     * A Provider on `Adapter` (first-party consent, login as alice at the interaction, after `atInteraction` saw the
     * interaction's uid) and an RP's configuration.
     */
    async function startProvider(Adapter: AdapterConstructor, extra: Partial<Configuration> = {}, atInteraction?: (uid: string) => Promise<void>) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const redirectUri = `${base}/cb`;
      const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
      const provider = new Provider(`${base}/oidc`, {
        adapter: Adapter,
        clients: [{
          client_id: 'rp', client_secret: 'rp-secret', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'], id_token_signed_response_alg: 'ES256',
        }],
        jwks: { keys: [{ ...jwk, kid: 'ec-1', use: 'sig', alg: 'ES256' }] },
        features: { devInteractions: { enabled: false } },
        pkce: { required: () => true },
        ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, RefreshToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
        findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
        // First party: consent is given silently, by saving the grant the request asks for.
        async loadExistingGrant(kctx: KoaContextWithOIDC) {
          const { client, session, provider: op } = kctx.oidc;
          if (client === undefined || session === undefined || session.accountId === undefined) return undefined;
          const grantId = kctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
          const grant = (grantId !== undefined ? await op.Grant.find(grantId) : undefined)
            ?? new op.Grant({ clientId: client.clientId, accountId: session.accountId });
          grant.addOIDCScope([...kctx.oidc.requestParamOIDCScopes].join(' '));
          await grant.save();
          return grant;
        },
        issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
        renderError(kctx, out) {
          kctx.type = 'json';
          kctx.body = out;
        },
        ...extra,
      });
      const serverErrors: unknown[] = [];
      provider.on('server_error', (_ctx, error) => serverErrors.push(error));
      const interactionUids: string[] = [];
      const app = express();
      app.get('/interaction/:uid', async (req, res, next) => {
        try {
          interactionUids.push(req.params.uid);
          await atInteraction?.(req.params.uid);
          await provider.interactionFinished(req, res, { login: { accountId: 'alice' } }, { mergeWithLastSubmission: false });
        } catch (error) {
          next(error);
        }
      });
      app.use('/oidc', provider.callback());
      server.on('request', app);

      const config = await oidc.discovery(new URL(`${base}/oidc`), 'rp', { id_token_signed_response_alg: 'ES256' }, oidc.ClientSecretBasic('rp-secret'), {
        execute: [oidc.allowInsecureRequests],
      });
      /** One authorization request, through the interaction, to the code. */
      const codeFor = async () => {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const start = oidc.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri, scope: 'openid', state,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
        });
        const callback = await authorize(start, redirectUri);
        const code = callback.searchParams.get('code');
        assert.ok(code !== null, callback.href);
        return { verifier, state, callback, code };
      };
      /** A code exchanged `n` times in parallel: the token responses and the errors, and the code's grant. */
      const redeemInParallel = async (n: number) => {
        const { verifier, state, callback, code } = await codeFor();
        const grantId = (await new Adapter('AuthorizationCode').find(code))?.grantId;
        assert.ok(typeof grantId === 'string');
        const results = await Promise.allSettled(Array.from({ length: n }, () =>
          oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })));
        return {
          code, grantId,
          granted: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
          refused: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
        };
      };
      /** One authorization request, through the interaction, to the code; then the code exchanged. */
      const login = async () => {
        const { verifier, state, callback, code } = await codeFor();
        const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true });
        assert.equal(tokens.claims()?.sub, 'alice');
        assert.ok(tokens.refresh_token !== undefined);
        const replay = () => oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
        return { code, tokens, refreshToken: tokens.refresh_token, replay };
      };
      return { config, login, redeemInParallel, serverErrors, interactionUids };
    }

    const invalidGrant = (e: unknown) => e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant';

    it('logs in with the records in Redis under the prefix; a replayed code is refused (invalid_grant) and the grant\'s tokens are gone', async () => {
      const { Adapter, prefix } = fresh();
      const { config, login, serverErrors } = await startProvider(Adapter);
      const { code, tokens, replay } = await login();
      assert.equal((await oidc.fetchUserInfo(config, tokens.access_token, 'alice')).sub, 'alice');

      // The provider's records are ours: in Redis, under the prefix, each with a TTL, named by the hashes of their ids.
      const at = `${prefix}{oidc}:AccessToken:${h(tokens.access_token)}`;
      const rt = `${prefix}{oidc}:RefreshToken:${h(tokens.refresh_token!)}`;
      const ac = `${prefix}{oidc}:AuthorizationCode:${h(code)}`;
      const grantId = (await new Adapter('AccessToken').find(tokens.access_token))?.grantId;
      assert.ok(typeof grantId === 'string');
      const keys = await keysUnder(ctx.client, prefix);
      for (const k of [at, rt, ac, `${prefix}{oidc}:Grant:${h(grantId)}`, `${prefix}{oidc}:grant:${h(grantId)}`]) assert.ok(keys.includes(k), `${k} in ${keys.join(', ')}`);
      assert.ok(keys.some((k) => k.startsWith(`${prefix}{oidc}:Session:`)) && keys.some((k) => k.startsWith(`${prefix}{oidc}:uid:`)), keys.join(', '));
      await assertAllExpire(ctx.client, keys);
      assert.ok((await new Adapter('AuthorizationCode').find(code))?.consumed, 'the exchanged code is marked consumed');

      // Replay: refused, and the whole grant is revoked (oidc-provider: revokeByGrantId on each model, Grant.destroy).
      await assert.rejects(replay(), invalidGrant);
      for (const k of [at, rt, ac, `${prefix}{oidc}:Grant:${h(grantId)}`, `${prefix}{oidc}:grant:${h(grantId)}`]) assert.equal(await ctx.client.exists(k), 0, `${k} is gone`);
      await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, 'alice'));
      assert.deepEqual(serverErrors, []);
    });

    it('one code redeemed ten times in parallel: one token response, nine invalid_grant, and the grant revoked (the winner\'s tokens refused, its keys gone), no server error', async () => {
      const { Adapter, prefix } = fresh();
      const { config, login, redeemInParallel, serverErrors } = await startProvider(Adapter);
      // A first login, whose grant must outlive the race on the second one's code.
      const { tokens } = await login();
      const grantId = (await new Adapter('AccessToken').find(tokens.access_token))?.grantId;
      assert.ok(typeof grantId === 'string');
      const second = await redeemInParallel(10);
      assert.equal(second.granted.length, 1, `one code, ${second.granted.length} token responses`);
      assert.equal(second.refused.length, 9);
      for (const e of second.refused) assert.ok(invalidGrant(e), String(e));
      const winner = second.granted[0]!;
      await assert.rejects(oidc.fetchUserInfo(config, winner.access_token, 'alice'), 'the winner\'s access token is refused');
      await assert.rejects(oidc.refreshTokenGrant(config, winner.refresh_token!), invalidGrant);
      // The Grant and the code are gone. (The winner may save its tokens after a loser revoked the index: they are
      // left to their TTL, refused all the same, as the two assertions above show, since their Grant is gone.)
      const winnerGrant = second.grantId;
      const left = await keysUnder(ctx.client, prefix);
      assert.ok(!left.includes(`${prefix}{oidc}:Grant:${h(winnerGrant)}`), left.join(', '));
      assert.ok(!left.includes(`${prefix}{oidc}:AuthorizationCode:${h(second.code)}`), left.join(', '));
      // The first login's grant is another one, and stands.
      assert.notEqual(grantId, winnerGrant);
      assert.equal((await oidc.fetchUserInfo(config, tokens.access_token, 'alice')).sub, 'alice');
      assert.deepEqual(serverErrors, []);
    });

    it('a rotating refresh token redeemed ten times in parallel: one new pair, nine invalid_grant, and the grant revoked', async () => {
      const { Adapter, prefix } = fresh();
      const { config, login, serverErrors } = await startProvider(Adapter, { rotateRefreshToken: true });
      const { tokens, refreshToken } = await login();
      const grantId = (await new Adapter('AccessToken').find(tokens.access_token))?.grantId;
      assert.ok(typeof grantId === 'string');
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => oidc.refreshTokenGrant(config, refreshToken!)));
      const granted = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof oidc.refreshTokenGrant>>> => r.status === 'fulfilled');
      assert.equal(granted.length, 1, `one refresh token, ${granted.length} token responses`);
      for (const r of results) if (r.status === 'rejected') assert.ok(invalidGrant(r.reason), String(r.reason));
      await assert.rejects(oidc.fetchUserInfo(config, granted[0]!.value.access_token, 'alice'));
      await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, 'alice'));
      await assert.rejects(oidc.refreshTokenGrant(config, granted[0]!.value.refresh_token!), invalidGrant);
      // The Grant, the raced refresh token and the first access token are gone (the winner's new pair may be saved
      // after the revocation: refused above all the same).
      const left = await keysUnder(ctx.client, prefix);
      for (const k of [`Grant:${h(grantId)}`, `RefreshToken:${h(refreshToken!)}`, `AccessToken:${h(tokens.access_token)}`]) {
        assert.ok(!left.includes(`${prefix}{oidc}:${k}`), `${k} is gone: ${left.join(', ')}`);
      }
      assert.deepEqual(serverErrors, []);
    });

    it('a dump of every key under the prefix holds none of the tokens openid-client got (access, refresh, rotated refresh, code) nor the interaction\'s uid, while userinfo, refresh and the replay\'s revocation work', async () => {
      const { Adapter, prefix } = fresh();
      // Refresh tokens rotate: the old one is consumed, a new one issued, both to be looked for. While the
      // interaction is open (its record gone once the login resumes), the dump does not hold its uid either.
      const interactionSeen: string[] = [];
      const { config, login, serverErrors, interactionUids } = await startProvider(Adapter, { rotateRefreshToken: true }, async (uid) => {
        const keys = await keysUnder(ctx.client, `${prefix}{oidc}:Interaction:`);
        assert.deepEqual(keys, [`${prefix}{oidc}:Interaction:${h(uid)}`]);
        assert.ok(JSON.parse((await ctx.client.hGet(keys[0]!, 'payload'))!).params, 'the interaction\'s record, with its params');
        await assertDumpHolds(ctx.client, prefix, { 'the interaction uid': uid });
        interactionSeen.push(uid);
      });
      const { code, tokens, refreshToken, replay } = await login();
      assert.equal((await oidc.fetchUserInfo(config, tokens.access_token, 'alice')).sub, 'alice');
      const refreshed = await oidc.refreshTokenGrant(config, refreshToken!);
      assert.ok(refreshed.refresh_token !== undefined && refreshed.refresh_token !== refreshToken, 'the refresh token rotated');
      assert.notEqual(refreshed.access_token, tokens.access_token);
      assert.equal((await oidc.fetchUserInfo(config, refreshed.access_token, 'alice')).sub, 'alice');
      assert.equal((await oidc.fetchUserInfo(config, tokens.access_token, 'alice')).sub, 'alice', 'the first access token still works');
      assert.equal(interactionUids.length, 1);
      assert.deepEqual(interactionSeen, interactionUids, 'the dump was read at the interaction');

      // The records are there (the consumed refresh token and code too), yet no key and no value names a secret.
      const keys = await keysUnder(ctx.client, prefix);
      for (const [model, id] of [['AccessToken', tokens.access_token], ['AccessToken', refreshed.access_token], ['RefreshToken', refreshToken!],
        ['RefreshToken', refreshed.refresh_token], ['AuthorizationCode', code]] as const) {
        assert.ok(keys.includes(`${prefix}{oidc}:${model}:${h(id)}`), `${model} ${id} in ${keys.join(', ')}`);
      }
      assert.ok((await new Adapter('RefreshToken').find(refreshToken!))?.consumed, 'the rotated refresh token is consumed');
      await assertDumpHolds(ctx.client, prefix, {
        'the access token': tokens.access_token, 'the refreshed access token': refreshed.access_token, 'the refresh token': refreshToken!,
        'the rotated refresh token': refreshed.refresh_token, 'the authorization code': code, 'the interaction uid': interactionUids[0]!,
      });
      await assertAllExpire(ctx.client, keys);

      // The code replayed: refused, the grant revoked: neither access token nor the refresh token works any more.
      await assert.rejects(replay(), invalidGrant);
      await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, 'alice'));
      await assert.rejects(oidc.fetchUserInfo(config, refreshed.access_token, 'alice'));
      await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), invalidGrant);
      const left = await keysUnder(ctx.client, prefix);
      assert.deepEqual(left.filter((k) => /:\{oidc\}:(AccessToken|RefreshToken|AuthorizationCode|Grant|grant):/.test(k)), [], left.join(', '));
      assert.deepEqual(serverErrors, []);
    });
  });
});
