import assert from 'node:assert/strict';
import express from 'express';
import passport from 'passport';
import request from 'supertest';
import { createAuthn, loadConfig, onEvent, startEventLog, STRATEGY_NAME, type EventRecord } from '../../src/index.js';
import { tempConfigDir } from '../support/temp-config.js';
import { cleanupOnClose, testStore } from '../support/test-store.js';
import { silenceOperationalLog } from '../../src/events/logger.js';

silenceOperationalLog(true);

/** What the README shows: a host app that knows nothing of the demo mounts the authenticators and logs users in. */
describe('mounting in a fresh Express app (the README recipe)', () => {
  it('a user passes password and OTP and the host route sees req.user', async () => {
    const t = tempConfigDir();
    const outbox = `${t.dir}/outbox.jsonl`;
    t.write('users.json', { users: [] });
    const ts = await testStore();
    const file = t.write('sso.json', ts.apply({
      logging: { events: { console: false } },
      pipes: [
        { id: 'users', valves: [{ name: 'UserFileCheck', config: { file: `${process.cwd()}/config/demo-users.json` } }] },
        { id: 'send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'Outbox', config: { file: outbox, print: false } }] },
        { id: 'check', valves: [{ name: 'OtpValidate' }] },
      ],
      authenticators: [
        { id: 'signin', type: 'Chain', config: { context_path: '/sso/start', chain: [{ id: 'pw' }, { id: 'code' }], success_location: '/home' } },
        { id: 'pw', type: 'UserNameAndPassword', config: { context_path: '/sso/pw', pipe_id: 'users' } },
        { id: 'code', type: 'OTPValidator', config: { context_path: '/sso/code', pre_pipe_id: 'send', pipe_id: 'check', destination: { source: '${exports.mobile}' } } },
      ],
    }));
    const env = { ...process.env, OUTBOX_FILE: '', OTP_SECRET: 'k', SESSION_SECRET: 's' };
    const config = loadConfig(file, env);
    // As the README starts it: the event log of the config, here to a file of the test's own.
    const eventsFile = `${t.dir}/events.jsonl`;
    const eventLog = startEventLog({ ...config.logging.events, file: eventsFile });
    let eventsClosed: Promise<void> | null = null;
    const closeEvents = () => (eventsClosed ??= eventLog.close());
    const authn = cleanupOnClose(await createAuthn(config, { env }), ts);
    const pp = new passport.Passport();
    pp.use(STRATEGY_NAME, authn.strategy);
    pp.serializeUser((user, done) => done(null, user));
    pp.deserializeUser((user: Express.User, done) => done(null, user));
    const app = express();
    app.use(authn.session);
    app.use(pp.session());
    app.use(authn.router);
    app.get('/home', (req, res) => { res.json({ user: (req.user as { username?: string } | undefined)?.username ?? null }); });
    const events: EventRecord[] = [];
    const stop = onEvent((e) => events.push(e));
    try {
      const agent = request.agent(app);
      await agent.get('/sso/start').expect(303).expect('Location', '/sso/pw');
      const t1 = (await agent.get('/sso/pw').set('Accept', 'application/json')).body.csrf_token as string;
      const pw = await agent.post('/sso/pw').set('X-CSRF-Token', t1).send({ type: 'start', data: { identifier: 'bob', password: 'builder' } }).expect(200);
      assert.equal(pw.body.location, '/sso/code');
      const t2 = (await agent.get('/sso/code').set('Accept', 'application/json')).body.csrf_token as string;
      const { readFileSync } = await import('node:fs');
      const code = /\b(\d{6})\b/.exec(readFileSync(outbox, 'utf8'))?.[1];
      const done = await agent.post('/sso/code').set('X-CSRF-Token', t2).send({ type: 'start', data: { otp: code } }).expect(200);
      assert.deepEqual(done.body, { status: 'COMPLETED', location: '/home' });
      assert.deepEqual((await agent.get('/home')).body, { user: 'bob' });
      assert.ok(events.some((e) => e.event_id === 'WEB_100019' && e.AUTHENTICATOR_IDENTIFIER === 'code'));
      await closeEvents();
      const lines = readFileSync(eventsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EventRecord);
      assert.ok(lines.some((e) => e.event_id === 'WEB_100019' && e.AUTHENTICATOR_IDENTIFIER === 'code'), 'the event file has the validation');
      assert.doesNotMatch(readFileSync(eventsFile, 'utf8'), new RegExp(`\\b${code}\\b`), 'and never the code');
    } finally {
      stop();
      await closeEvents();
      await authn.close();
    }
  });
});
