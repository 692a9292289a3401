import { readFileSync } from 'node:fs';
import express from 'express';
import passport from 'passport';
import request from 'supertest';
import { createAuthn, loadConfig, STRATEGY_NAME, type Authn } from '../../src/index.js';
import { silenceOperationalLog } from '../../src/events/logger.js';
import { tempConfigDir } from './temp-config.js';
import { cleanupOnClose, testStore } from './test-store.js';

silenceOperationalLog(true);

/** A host app as the README mounts it, over the given authenticators (pipes: users, send, check). */
export async function chainApp(authenticators: unknown[]): Promise<{ app: express.Express; authn: Authn; lastCode(): string; login(agent: ReturnType<typeof request.agent>, path: string): Promise<string> }> {
  const t = tempConfigDir();
  const outbox = `${t.dir}/outbox.jsonl`;
  const ts = await testStore();
  const file = t.write('sso.json', ts.apply({
    logging: { events: { console: false } },
    pipes: [
      { id: 'users', valves: [{ name: 'UserFileCheck', config: { file: `${process.cwd()}/config/demo-users.json` } }] },
      { id: 'send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'Outbox', config: { file: outbox, print: false } }] },
      { id: 'check', valves: [{ name: 'OtpValidate' }] },
    ],
    authenticators,
  }));
  const env = { ...process.env, OUTBOX_FILE: '', OTP_SECRET: 'k', SESSION_SECRET: 's' };
  const authn = cleanupOnClose(await createAuthn(loadConfig(file, env), { env }), ts);
  const pp = new passport.Passport();
  pp.use(STRATEGY_NAME, authn.strategy);
  pp.serializeUser((user, done) => done(null, user));
  pp.deserializeUser((user: Express.User, done) => done(null, user));
  const app = express();
  app.use(authn.session);
  app.use(pp.initialize());
  app.use(pp.session());
  app.use(authn.router);
  app.get('/home', (req, res) => { res.json({ user: (req.user as { username?: string } | undefined)?.username ?? null }); });
  return {
    app,
    authn,
    lastCode: () => [...readFileSync(outbox, 'utf8').matchAll(/\b(\d{6})\b/g)].at(-1)?.[1] ?? '',
    async login(agent, path) {
      const token = (await agent.get(path).set('Accept', 'application/json')).body.csrf_token as string;
      const res = await agent.post(path).set('X-CSRF-Token', token).send({ type: 'start', data: { identifier: 'bob', password: 'builder' } }).expect(200);
      return res.body.location as string;
    },
  };
}

export async function post(agent: ReturnType<typeof request.agent>, path: string, body: object): Promise<request.Response> {
  const token = (await agent.get(path).set('Accept', 'application/json')).body.csrf_token as string;
  return agent.post(path).set('X-CSRF-Token', token).send(body);
}
