import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { createAuthn, type Authn, type AuthnOptions } from '../../src/assembly/create-authn.js';
import { loadConfig } from '../../src/config/index.js';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { silenceOperationalLog } from '../../src/events/logger.js';
import { tempConfigDir } from './temp-config.js';
import { assertOnRedis, testStore } from './test-store.js';

silenceOperationalLog(true);

/**
 * The real OTP authenticator in a real Express app with real sessions, and a test-only route that plays the
 * earlier login step by putting exports into the session (the Chain issue replaces it with the real steps).
 */
export interface Harness {
  app: express.Express;
  authn: Authn;
  outbox: string;
  events: EventRecord[];
  /** A browser: its own cookie jar and CSRF token. */
  user(exports?: Record<string, unknown>): Promise<UserAgent>;
  codes(to?: string): string[];
  close(): Promise<void>;
}

export interface UserAgent {
  agent: ReturnType<typeof request.agent>;
  csrf: string;
  get(accept?: string): request.Test;
  send(type: string, data?: unknown): request.Test;
}

export const OTP_PATH = '/authn/otp';

export async function otpHarness(otpConfig: Record<string, unknown> = {}, options: AuthnOptions = {}, extra: Record<string, unknown> = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-harness-'));
  const outbox = path.join(dir, 'outbox.jsonl');
  const t = tempConfigDir();
  // TEST_STORE=redis: a Redis store under this harness's own prefix, unless the test brings its own store.
  const ts = await testStore();
  const file = t.write('config.json', ts.apply({
    globals: { app_name: 'Test SSO' },
    logging: { events: { console: false } },
    pipes: [
      { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'Outbox', config: { file: outbox, print: false } }] },
      { id: 'otp-send-email', valves: [{ name: 'EmailNormalize' }, { name: 'OtpGenerate' }, { name: 'Outbox', config: { file: outbox, print: false } }] },
      { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
    ],
    authenticators: [{
      id: 'otp', type: 'OTP',
      config: { base_path: '/authn', pre_pipe_id: 'otp-send', pipe_id: 'otp-validate', subject: '${exports.username}', custom_identifier: '${exports.username}',
        destination: { source: '${exports.mobile}' }, success_location: '/account', failure_location: '/failed', cancel_location: '/cancelled', ...otpConfig },
    }],
    ...extra,
    // Pipes a test brings deliver to this harness's outbox too.
    ...(Array.isArray(extra.pipes) ? { pipes: (extra.pipes as { id: string; valves: { name: string; config?: object }[] }[]).map((p) => ({
      ...p, valves: p.valves.map((v) => (v.name === 'Outbox' ? { ...v, config: { ...v.config, file: outbox, print: false } } : v)),
    })) } : {}),
  }));
  const env = { ...process.env, OUTBOX_FILE: '', OTP_SECRET: 'test-otp-secret', SESSION_SECRET: 'test-session-secret' };
  const config = loadConfig(file, env);
  let authn: Authn;
  try {
    authn = await createAuthn(config, { env, ...options });
  } catch (error) {
    await ts.cleanup();
    throw error;
  }
  if (options.store === undefined) {
    try {
      assertOnRedis(ts, authn);
    } catch (error) {
      await authn.close();
      await ts.cleanup();
      throw error;
    }
  }
  const app = express();
  app.use(authn.session);
  app.post('/test/exports', express.json(), (req, res) => {
    req.session.authn = { trace_id: `trace-${Math.random().toString(36).slice(2)}`, exports: req.body as Record<string, unknown>, completed: [], counters: {} };
    res.json({ ok: true });
  });
  app.use(authn.router);
  const events: EventRecord[] = [];
  const unsubscribe = onEvent((e) => events.push(e));

  return {
    app, authn, outbox, events,
    async user(exports = { username: 'alice', mobile: '+46701234567' }) {
      const agent = request.agent(app);
      await agent.post('/test/exports').send(exports).expect(200);
      const u: UserAgent = {
        agent,
        csrf: '',
        get: (accept = 'application/json') => agent.get(OTP_PATH).set('Accept', accept),
        send: (type, data) => agent.post(OTP_PATH).set('X-CSRF-Token', u.csrf).send(data === undefined ? { type } : { type, data }),
      };
      const first = await u.get();
      u.csrf = (first.body as { csrf_token: string }).csrf_token;
      return u;
    },
    codes(to) {
      if (!existsSync(outbox)) return [];
      return readFileSync(outbox, 'utf8').trim().split('\n').filter(Boolean)
        .map((line) => JSON.parse(line) as { to: string; text: string })
        .filter((m) => !to || m.to === to)
        .map((m) => /\b([0-9A-Z]{4,10})\b/.exec(m.text)?.[1] ?? '');
    },
    async close() {
      unsubscribe();
      try {
        await authn.close();
      } finally {
        await ts.cleanup();
      }
    },
  };
}
