import assert from 'node:assert/strict';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { demoVariant } from '../support/demo-variant.js';

// Issue 13, attack 5a: a forged X-Forwarded-For. A client that writes its own X-Forwarded-For must not choose the
// SOURCE_ADDRESS of the events nor the key of the per-IP send budget, unless `server.trust_proxy` says a proxy in
// front writes that header (SPEC section 4; docs/configuration.md). `server.trust_proxy` is applied by the demo
// server (src/demo/demo-app.ts); a host app sets Express's `trust proxy` itself. Without trust_proxy, on the bare
// OTP harness: test/http/otp.events.test.ts ("SOURCE_ADDRESS ignores X-Forwarded-For without trust_proxy").

type Demo = Awaited<ReturnType<typeof demoVariant>>;
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$|^::1$/;

function withIpBudget(trustProxy: unknown) {
  return (config: Record<string, any>) => {
    config.server.trust_proxy = trustProxy;
    const otp = config.authenticators.find((a: { id: string }) => a.id === 'otp');
    otp.config.rate_limits = { sends_per_ip_per_hour: 2 };
  };
}

describe('attack: forged X-Forwarded-For', function () {
  this.timeout(30_000);
  const events: EventRecord[] = [];
  let stop: () => void;
  before(() => { stop = onEvent((e) => events.push(e)); });
  after(() => stop());

  async function login(demo: Demo, user: string, password: string, xff: string) {
    const agent = request.agent(demo.app);
    const token = (await agent.get('/authn/password').set('Accept', 'application/json').set('X-Forwarded-For', xff)).body.csrf_token as string;
    const res = await agent.post('/authn/password').set('X-CSRF-Token', token).set('X-Forwarded-For', xff).send({ type: 'start', data: { identifier: user, password } });
    return { agent, res };
  }

  /** The OTP step's first GET, which sends the code, from `xff`. */
  function otpGet(agent: ReturnType<typeof request.agent>, xff: string) {
    return agent.get('/authn/method/otp').set('Accept', 'application/json').set('X-Forwarded-For', xff);
  }

  describe('without server.trust_proxy (the default)', () => {
    let demo: Demo;
    beforeEach(async () => { demo = await demoVariant(withIpBudget(false)); events.length = 0; });
    afterEach(async () => { await demo.authn.close(); });

    it('SOURCE_ADDRESS of the password and OTP events is the connection, not the header', async () => {
      const { agent } = await login(demo, 'alice', 'wonderland', '203.0.113.5');
      await otpGet(agent, '203.0.113.5').expect(200);
      await login(demo, 'alice', 'wrong', '203.0.113.6');
      const seen = events.filter((e) => ['WEB_100017', 'WEB_100018', 'OTP_200001', 'OTP_200002'].includes(e.event_id));
      assert.equal(seen.length, 4, seen.map((e) => e.event_id).join());
      for (const e of seen) assert.match(String(e.SOURCE_ADDRESS), LOOPBACK, `${e.event_id}: ${e.SOURCE_ADDRESS}`);
    });

    it('rotating X-Forwarded-For does not reset the per-IP send budget: the third user from one client is RATE_LIMITED', async () => {
      const users = [['alice', 'wonderland', '198.51.100.1'], ['bob', 'builder', '198.51.100.2'], ['carol', 'bletchley', '198.51.100.3']] as const;
      const answers = [];
      for (const [user, password, xff] of users) {
        const { agent } = await login(demo, user, password, xff);
        answers.push(await otpGet(agent, xff));
      }
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 429]);
      assert.equal(answers[2]!.body.error.code, 'RATE_LIMITED');
      const limited = events.find((e) => e.event_id === 'OTP_200011');
      assert.equal(limited?.limit, 'sends_per_ip_per_hour');
      assert.match(String(limited?.SOURCE_ADDRESS), LOOPBACK);
    });
  });

  describe('with server.trust_proxy: 1 (one proxy in front)', () => {
    let demo: Demo;
    beforeEach(async () => { demo = await demoVariant(withIpBudget(1)); events.length = 0; });
    afterEach(async () => { await demo.authn.close(); });

    it('SOURCE_ADDRESS is the address the proxy appended; an address the client put before it is ignored', async () => {
      const { agent } = await login(demo, 'alice', 'wonderland', '192.0.2.66, 203.0.113.5');
      await otpGet(agent, '192.0.2.66, 203.0.113.5').expect(200);
      const seen = events.filter((e) => ['WEB_100017', 'OTP_200001', 'OTP_200002'].includes(e.event_id));
      assert.equal(seen.length, 3);
      for (const e of seen) assert.equal(e.SOURCE_ADDRESS, '203.0.113.5', `${e.event_id}`);
    });

    it('the per-IP budget is per forwarded address: a third send from one address is refused, another address still gets its code', async () => {
      const first = await login(demo, 'alice', 'wonderland', '203.0.113.7');
      assert.equal((await otpGet(first.agent, '203.0.113.7')).status, 200);
      const second = await login(demo, 'bob', 'builder', '203.0.113.7');
      assert.equal((await otpGet(second.agent, '203.0.113.7')).status, 200);
      const third = await login(demo, 'carol', 'bletchley', '203.0.113.7');
      const refused = await otpGet(third.agent, '203.0.113.7');
      assert.equal(refused.status, 429, refused.text);
      assert.equal(refused.body.error.code, 'RATE_LIMITED');
      const limited = events.find((e) => e.event_id === 'OTP_200011');
      assert.equal(limited?.limit, 'sends_per_ip_per_hour');
      assert.equal(limited?.SOURCE_ADDRESS, '203.0.113.7');
      // carol again, through another address: her own budget.
      const elsewhere = await otpGet(third.agent, '203.0.113.8');
      assert.equal(elsewhere.status, 200, elsewhere.text);
    });
  });
});
