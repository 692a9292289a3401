import assert from 'node:assert/strict';
import { call, CookieJar, outboxCodes, settledLines, startDemoPair, type DemoPair, type DemoProcess, type JsonAnswer } from '../support/redis-processes.js';
import { requireTopologyOrSkip, startCluster, type RedisClusterTopology } from '../support/redis-topology.js';

/**
 * Issue 25: two demo processes (`src/server.ts`) whose config names a Redis Cluster (3 masters, 3 replicas, started
 * here on loopback ports of its own): a login begun on one finishes on the other, and the attempt count holds
 * across both, with sessions, transactions and limits spread over the Cluster's slots.
 */
const ALICE_TO = '+46701234567';
const BOB_TO = '+447400123456';

describe('issue 25: two demo processes on a Redis Cluster', function () {
  this.timeout(60_000);
  let cluster: RedisClusterTopology | null = null;
  let pair: DemoPair;
  let a: DemoProcess;
  let b: DemoProcess;

  before(async function () {
    requireTopologyOrSkip(this, 'a Redis Cluster');
    cluster = await startCluster();
    pair = await startDemoPair('cluster-two', {}, (config) => {
      config.store = { type: 'redis', cluster: { root_nodes: cluster!.rootNodes.slice(0, 3) }, prefix: 'otp:' };
      const otp = (config.authenticators as { id: string; config: Record<string, unknown> }[]).find((x) => x.id === 'otp')!;
      otp.config.rate_limits = { entries_per_transaction_per_minute: 1000, failures_per_subject_per_hour: 100 };
    });
    ({ a, b } = pair);
  });
  after(async () => {
    await pair?.stop();
    await cluster?.stop();
  });

  async function login(jar: CookieJar, user: string, password: string, p: DemoProcess, q: DemoProcess): Promise<JsonAnswer> {
    const page = await call(jar, `${p.base}/authn/password`);
    const done = await call(jar, `${p.base}/authn/password`, { csrf: page.body.csrf_token, json: { type: 'start', data: { identifier: user, password } } });
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/authn/method' }, done.text);
    const otp = await call(jar, `${q.base}/authn/method/otp`);
    assert.equal(otp.body.status, 'PENDING', otp.text);
    return otp;
  }
  const start = (jar: CookieJar, p: DemoProcess, csrf: string, otp: string, keepCookies = true) =>
    call(jar, `${p.base}/authn/method/otp`, { csrf, json: { type: 'start', data: { otp } }, keepCookies });
  const kind = (r: JsonAnswer): string => (r.body?.status === 'ERROR' ? r.body.error?.code : r.body?.status ?? `HTTP ${r.status}`);

  it('both are on the Cluster: /readyz answers 200 on both', async () => {
    const ready = await Promise.all([fetch(`${a.base}/readyz`), fetch(`${b.base}/readyz`)]);
    assert.deepEqual(ready.map((r) => r.status), [200, 200]);
  });

  it('a login begun on A (password, OTP page) finishes on B; /account on B shows alice', async () => {
    const jar = new CookieJar();
    const otp = await login(jar, 'alice', 'wonderland', a, a);
    const code = outboxCodes(pair.outbox, ALICE_TO).at(-1)!;
    const done = await start(jar, b, otp.body.csrf_token, code);
    assert.deepEqual(done.body, { status: 'COMPLETED', location: '/account' }, done.text);
    const account = await call(jar, `${b.base}/account`, { accept: 'text/html' });
    assert.equal(account.status, 200);
    assert.match(account.text, /<td>alice<\/td>/);
  });

  it('200 parallel wrong entries over both processes: exactly allowed_otp_retry + 1 evaluated (3 WEB_100020 lines), the rest refused', async () => {
    const jar = new CookieJar();
    const otp = await login(jar, 'bob', 'builder', b, a);
    const code = outboxCodes(pair.outbox, BOB_TO).at(-1)!;
    const wrong = (i: number) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0');
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => start(jar, i % 2 === 0 ? a : b, otp.body.csrf_token, wrong(i), false)));
    const kinds: Record<string, number> = {};
    for (const r of answers) kinds[kind(r)] = (kinds[kind(r)] ?? 0) + 1;
    assert.deepEqual(kinds, { INVALID_OTP: 2, MAX_ATTEMPTS: 198 });
    const failed = await settledLines(pair.eventsFiles, (e) => e.event_id === 'WEB_100020' && e.CUSTOMER_IDENTIFIER === 'bob');
    assert.equal(failed.length, 3);
    assert.equal(failed.filter((e) => e.aborted === true).length, 1);
  });
});
