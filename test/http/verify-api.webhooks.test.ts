import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { retryDelayMs } from '../../src/api/webhooks.js';
import { demoVariant } from '../support/demo-variant.js';
import { eventually } from '../support/redis-processes.js';

/**
 * Issue 24: webhooks. A receiver on loopback that fails twice and then accepts gets the final outcome once
 * accepted, every attempt signed and with the same Idempotency-Key; the answer to the check never waits for it.
 */
const SECRET = 'webhook-secret-for-tests';
const AUTH = 'Bearer demo.demo-secret';

interface Received { headers: IncomingMessage['headers']; body: string; answered: number }

describe('verification API webhooks: signed, retried with backoff, never blocking an answer', function () {
  this.timeout(30_000);
  let server: Server;
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  const received: Received[] = [];
  let release: () => void = () => undefined;
  let held: Promise<void> = Promise.resolve();
  const events: EventRecord[] = [];
  let stop: () => void;

  before(async () => {
    // Fails twice (the first only once the test lets it answer), then accepts.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        const n = received.length;
        const answer = n < 2 ? 503 : 200;
        received.push({ headers: req.headers, body, answered: answer });
        void (n === 0 ? held : Promise.resolve()).then(() => { res.statusCode = answer; res.end(); });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    stop = onEvent((e) => events.push(e));
    demo = await demoVariant((c) => {
      Object.assign(c.verify_api.keys[0], { callback_url: url, callback_secret: SECRET, callback_retry: { max_attempts: 4, within_seconds: 0.7 } });
    });
  });
  after(async () => {
    stop();
    release();
    await demo.authn.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('delays double and add up to within_seconds; no retry after max_attempts', () => {
    const t = { maxAttempts: 4, withinSeconds: 7 };
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(t, n)), [1000, 2000, 4000, null]);
  });

  it('a receiver that fails twice, then accepts, gets the outcome three times with one Idempotency-Key, each signed; OTP_200024 twice, OTP_200023 once', async () => {
    held = new Promise<void>((resolve) => { release = resolve; });
    const made = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', AUTH).send({ to: '+46701234567', reference: 'hook-1' }).expect(201);
    const code = /\b(\d{6})\b/.exec((await import('node:fs')).readFileSync(demo.outbox, 'utf8').trim().split('\n').at(-1)!)![1]!;
    // The first attempt is held open by the receiver: the answer must come anyway.
    const ok = await request(demo.app).post(`/api/verify/v1/verifications/${made.body.id}/check`).set('Authorization', AUTH).send({ code }).expect(200);
    assert.equal(ok.body.status, 'approved');
    release();
    await eventually(() => events.some((e) => e.event_id === 'OTP_200023'), 10_000, 'the webhook delivered');
    assert.deepEqual(received.map((r) => r.answered), [503, 503, 200]);
    const keys = new Set(received.map((r) => r.headers['idempotency-key']));
    assert.equal(keys.size, 1, 'one Idempotency-Key for the one outcome');
    for (const r of received) {
      const [t, v1] = String(r.headers['x-otp-signature']).split(',').map((p) => p.split('=')[1]!);
      assert.equal(v1, createHmac('sha256', SECRET).update(`${t}.${r.body}`).digest('hex'), 'signed over timestamp and body');
      assert.ok(Math.abs(Number(t) - Date.now() / 1000) < 60);
    }
    const body = JSON.parse(received[2]!.body);
    assert.deepEqual([body.id, body.outcome, body.status, body.action, body.detail, body.reference], [made.body.id, 'approved', 'approved', 'PASS', 'ALL CHECKS PASSED', 'hook-1']);
    assert.deepEqual(events.filter((e) => e.event_id === 'OTP_200024').map((e) => [e.attempt, e.status]), [[1, 503], [2, 503]]);
    assert.equal(events.filter((e) => e.event_id === 'OTP_200023').length, 1);
  });

  it('a cancel is an outcome too; a check refused after the verification was decided sends nothing', async () => {
    received.length = 0;
    const made = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', AUTH).send({ to: '+46701119977' }).expect(201);
    await request(demo.app).post(`/api/verify/v1/verifications/${made.body.id}/cancel`).set('Authorization', AUTH).send({}).expect(200);
    await request(demo.app).post(`/api/verify/v1/verifications/${made.body.id}/check`).set('Authorization', AUTH).send({ code: '123456' }).expect(409);
    await eventually(() => received.some((r) => r.answered === 200), 10_000, 'the cancel delivered');
    const outcomes = received.map((r) => JSON.parse(r.body).outcome as string);
    assert.ok(outcomes.every((o) => o === 'cancelled'), JSON.stringify(outcomes));
  });
});
