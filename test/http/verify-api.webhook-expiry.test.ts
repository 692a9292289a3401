import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { demoVariant } from '../support/demo-variant.js';
import { eventually } from '../support/redis-processes.js';

/**
 * Issue 24: an expired verification is a final outcome for the webhook too, though no request decides it: the
 * process that sent the last code looks again when that code ends. A code lives 30 s at the least (the schema's
 * floor), so this waits that long; it runs in the memory pass only (test/support/mocharc.redis-store.cjs says why).
 */
const AUTH = 'Bearer demo.demo-secret';

describe('verification API webhooks: an expired verification', function () {
  this.timeout(60_000);
  let server: Server;
  let demo: Awaited<ReturnType<typeof demoVariant>>;
  const bodies: Record<string, unknown>[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => { bodies.push(JSON.parse(body) as Record<string, unknown>); res.end(); });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    demo = await demoVariant((c) => {
      Object.assign(c.verify_api.keys[0], { callback_url: url, callback_secret: 'webhook-secret-for-tests' });
      const otp = c.authenticators.find((a: { id: string }) => a.id === 'api-otp').config;
      Object.assign(otp, { code: { ttl_seconds: 30 }, max_codes: 1 });
    });
  });
  after(async () => {
    await demo.authn.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a verification nobody checks: "expired" (reject, FAILED OUT-OF-BAND CHECK) once its only code has ended; a checked one sends no expiry', async () => {
    const idle = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', AUTH).send({ to: '+46701231200', reference: 'idle' }).expect(201);
    const checked = await request(demo.app).post('/api/verify/v1/verifications').set('Authorization', AUTH).send({ to: '+46701231201', reference: 'checked' }).expect(201);
    await request(demo.app).post(`/api/verify/v1/verifications/${checked.body.id}/cancel`).set('Authorization', AUTH).send({}).expect(200);
    await eventually(() => bodies.some((b) => b.outcome === 'expired'), 45_000, 'the expiry webhook');
    const expired = bodies.filter((b) => b.outcome === 'expired');
    assert.equal(expired.length, 1);
    assert.deepEqual([expired[0]!.id, expired[0]!.status, expired[0]!.action, expired[0]!.detail, expired[0]!.reference], [idle.body.id, 'reject', 'FAIL', 'FAILED OUT-OF-BAND CHECK', 'idle']);
    assert.ok(typeof expired[0]!.completed_at === 'string');
    assert.deepEqual(bodies.filter((b) => b.reference === 'checked').map((b) => b.outcome), ['cancelled'], 'the cancelled one: its cancel only');
  });
});
