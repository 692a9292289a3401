import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';
import { loadConfig } from '../../src/config/index.js';
import { createDemoApp, type DemoApp } from '../../src/demo/demo-app.js';
import { silenceOperationalLog } from '../../src/events/logger.js';
import { cleanupOnClose, testStore } from './test-store.js';

silenceOperationalLog(true);

/**
 * The demo (config/default.json, as `npm start` serves it) listening on 127.0.0.1 with its issuer there, for
 * openid-client to drive over real HTTP; and a small browser: fetch with a cookie jar that follows redirects and
 * passes the chain's steps through their JSON API (the password, then the code from the outbox).
 */
export interface OidcDemo extends DemoApp {
  base: string;
  issuer: string;
  outbox: string;
  server: Server;
  lastCode(to: string): string;
  close(): Promise<void>;
}

/** `change` edits a copy of config/default.json first (another client, say). */
export async function oidcDemo(env: Record<string, string> = {}, change?: (config: Record<string, any>) => void): Promise<OidcDemo> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/oidc`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-oidc-'));
  const outbox = path.join(dir, 'outbox.jsonl');
  let file = 'config/default.json';
  // TEST_STORE=redis: the provider's records on Redis too, under a prefix of this demo's own.
  const ts = await testStore();
  if (change || ts.block) {
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
    delete config.$schema;
    config.pipes = `@include:${path.resolve('pipes')}`;
    change?.(config);
    ts.apply(config);
    copyFileSync('config/demo-users.json', path.join(dir, 'demo-users.json'));
    file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
  }
  const full = { ...process.env, OTP_SECRET: 'oidc-test-otp', SESSION_SECRET: 'oidc-test-session', OIDC_ISSUER: issuer, OUTBOX_FILE: outbox, ...env };
  const previous = process.env.OUTBOX_FILE;
  process.env.OUTBOX_FILE = outbox;
  let demo: DemoApp;
  try {
    demo = await createDemoApp(loadConfig(file, full), { env: full });
  } finally {
    if (previous === undefined) delete process.env.OUTBOX_FILE;
    else process.env.OUTBOX_FILE = previous;
  }
  cleanupOnClose(demo.authn, ts);
  server.on('request', demo.app);
  return {
    ...demo, base, issuer, outbox, server,
    lastCode(to) {
      if (!existsSync(outbox)) return '';
      const lines = readFileSync(outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { to: string; text: string }).filter((m) => m.to === to);
      return /\b(\d{6})\b/.exec(lines.at(-1)?.text ?? '')?.[1] ?? '';
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await demo.authn.close();
    },
  };
}

/** A browser's cookies, by name and path (enough for one host). */
export class Jar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(lines: string[], url: string): void {
    for (const line of lines) {
      const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const pathAttr = attrs.find((a) => a.toLowerCase().startsWith('path='));
      const p = pathAttr ? pathAttr.slice(5) : (new URL(url).pathname.replace(/\/[^/]*$/, '') || '/');
      const expired = attrs.some((a) => /^max-age=(0|-)/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
      const key = `${name};${p}`;
      if (expired || value === '') this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path: p });
    }
  }

  header(url: string): string {
    const p = new URL(url).pathname;
    return [...this.cookies.values()]
      .filter((c) => p === c.path || (p.startsWith(c.path) && (c.path.endsWith('/') || p[c.path.length] === '/')))
      .sort((a, b) => b.path.length - a.path.length).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  names(): string[] {
    return [...this.cookies.values()].map((c) => c.name);
  }
}

export interface Answer { status: number; location: string | null; body: string; url: string }

export async function call(jar: Jar, url: string, init: { method?: string; json?: unknown; csrf?: string; accept?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: init.accept ?? 'text/html' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  if (init.csrf) headers['x-csrf-token'] = init.csrf;
  const res = await fetch(url, { method: init.method ?? 'GET', headers, redirect: 'manual', ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}) });
  jar.store(res.headers.getSetCookie(), url);
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location, url).href : null, body: await res.text(), url };
}

export interface Walk {
  /** The redirect_uri with its query, when the loop got back to the client. */
  callback: URL | null;
  /** The paths visited, in order. */
  visited: string[];
  /** Where it stopped otherwise. */
  last: Answer;
}

export interface Person { username: string; password: string; to: string }

/**
 * Follows redirects from `start` like a browser; on a chain step it answers through the JSON API: the password
 * step with `person`'s credentials, the code step with the code the outbox got. `stopAt` halts at a path (its
 * answer is `last`); `pauseAt` halts before requesting it (`last.url` is where to go on).
 */
export async function walk(demo: OidcDemo, jar: Jar, start: string, person: Person, opts: { redirectUri: string; stopAt?: RegExp; pauseAt?: RegExp; code?: (to: string) => string; trust?: boolean } = { redirectUri: '' }): Promise<Walk> {
  const visited: string[] = [];
  let url = start;
  for (let i = 0; i < 40; i += 1) {
    if (url.startsWith(opts.redirectUri)) return { callback: new URL(url), visited, last: { status: 0, location: null, body: '', url } };
    const p = new URL(url).pathname;
    visited.push(p);
    if (opts.stopAt?.test(p)) return { callback: null, visited, last: await call(jar, url) };
    if (opts.pauseAt?.test(p)) return { callback: null, visited, last: { status: 0, location: null, body: '', url } };
    if (p === '/authn/password' || /^\/authn\/method\/[a-z]+$/.test(p)) {
      const page = await call(jar, url, { accept: 'application/json' });
      const body = JSON.parse(page.body) as { csrf_token: string; status?: string; location?: string };
      if (body.status === 'COMPLETED' && body.location) { url = new URL(body.location, url).href; continue; }
      const data = p === '/authn/password' ? { identifier: person.username, password: person.password }
        : { otp: (opts.code ?? ((to) => demo.lastCode(to)))(person.to), ...(opts.trust ? { trust_device: true } : {}) };
      const done = await call(jar, url, { method: 'POST', json: { type: 'start', data }, csrf: body.csrf_token, accept: 'application/json' });
      const answer = JSON.parse(done.body) as { location?: string };
      if (!answer.location) return { callback: null, visited, last: done };
      url = new URL(answer.location, url).href;
      continue;
    }
    const res = await call(jar, url);
    if (res.status >= 300 && res.status < 400 && res.location) { url = res.location; continue; }
    return { callback: null, visited, last: res };
  }
  throw new Error(`too many redirects from ${start}`);
}

/** openid-client's view of the demo's provider as the client `clientId`. */
export async function discover(demo: OidcDemo, clientId: string, secret?: string): Promise<client.Configuration> {
  return client.discovery(new URL(demo.issuer), clientId, secret ? { client_secret: secret } : {}, secret ? client.ClientSecretBasic(secret) : client.None(), { execute: [client.allowInsecureRequests] });
}

/** An authorization request with PKCE, state and nonce; `exchange` checks them all on the way back. */
export async function authorization(config: client.Configuration, redirectUri: string, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid', state, nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return {
    url: url.href,
    exchange: (callback: URL) => client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
  };
}
