import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import request from 'supertest';
import { onEvent } from '../../src/events/bus.js';
import type { EventRecord } from '../../src/events/catalogue.js';
import { demoHarness, tokenFor } from '../support/demo-harness.js';

// Issue 13, attack 4: user enumeration through the password step (SPEC section 9: "the same answer for an unknown
// user and a wrong password"). The answer, the event and the work must not tell them apart. The work is compared,
// never the time: every call of node's crypto.scrypt in this process is counted, with its parameters, by wrapping
// the function the valve calls. UserFileCheck (src/valves/user-file-check.ts) hashes through
// src/valves/password-hash.ts, which does `import { scrypt } from 'node:crypto'`: an ESM live binding of a builtin,
// which `module.syncBuiltinESMExports()` updates after the CommonJS export is replaced, so src stays untouched.
// Already proven elsewhere: same body and the same event keys, test/http/demo.chain.test.ts.

interface ScryptCall { passwordLength: number; saltLength: number; keyLength: number; N: number; r: number; p: number; maxmem: number }

const calls: ScryptCall[] = [];
const original = crypto.scrypt;

function installScryptCounter(): void {
  const counting = function (this: unknown, password: crypto.BinaryLike, salt: crypto.BinaryLike, keylen: number, ...rest: unknown[]) {
    const options = (typeof rest[0] === 'object' && rest[0] !== null ? rest[0] : {}) as crypto.ScryptOptions;
    calls.push({
      passwordLength: typeof password === 'string' ? password.length : (password as Buffer).length,
      saltLength: typeof salt === 'string' ? salt.length : (salt as Buffer).length,
      keyLength: keylen, N: options.N ?? options.cost ?? 16384, r: options.r ?? options.blockSize ?? 8, p: options.p ?? options.parallelization ?? 1, maxmem: options.maxmem ?? 0,
    });
    return (original as (...a: unknown[]) => void).call(this, password, salt, keylen, ...rest);
  };
  (crypto as { scrypt: unknown }).scrypt = counting;
  syncBuiltinESMExports();
}

function removeScryptCounter(): void {
  (crypto as { scrypt: unknown }).scrypt = original;
  syncBuiltinESMExports();
}

/** An event without the fields that differ for every request or name the user. */
function comparable(e: EventRecord): Record<string, unknown> {
  const { timestamp: _t, IDENTIFIER: _i, SOURCE_USER_NAME: _u, ...rest } = e as unknown as Record<string, unknown>;
  return rest;
}

describe('attack: user enumeration through the password step (demo)', function () {
  this.timeout(30_000);
  let demo: Awaited<ReturnType<typeof demoHarness>>;
  const events: EventRecord[] = [];
  let stop: () => void;

  before(async () => {
    installScryptCounter();
    demo = await demoHarness();
    stop = onEvent((e) => events.push(e));
    // The valve's dummy hash for unknown users is made once per process; make sure it exists before counting.
    await tryLogin(request.agent(demo.app), 'warm-up-nobody', 'x');
  });
  after(async () => {
    stop();
    removeScryptCounter();
    delete process.env.OUTBOX_FILE;
    await demo.authn.close();
  });

  async function tryLogin(agent: ReturnType<typeof request.agent>, identifier: string, password: string) {
    const token = await tokenFor(agent, '/authn/password');
    return agent.post('/authn/password').set('X-CSRF-Token', token).send({ type: 'start', data: { identifier, password } });
  }

  /** One login attempt in a fresh session: its answer, its events and the scrypt calls it made. */
  async function attempt(identifier: string, password: string) {
    calls.length = 0;
    events.length = 0;
    const res = await tryLogin(request.agent(demo.app), identifier, password);
    return { res, events: [...events], scrypt: [...calls] };
  }

  it('the scrypt counter sees the valve (the observation works): a right password costs exactly one scrypt call', async () => {
    const ok = await attempt('alice', 'wonderland');
    assert.equal(ok.res.body.status, 'COMPLETED', ok.res.text);
    assert.equal(ok.scrypt.length, 1, `scrypt calls: ${JSON.stringify(ok.scrypt)}`);
    assert.deepEqual({ N: ok.scrypt[0]!.N, r: ok.scrypt[0]!.r, p: ok.scrypt[0]!.p }, { N: 16384, r: 8, p: 1 });
  });

  it('unknown user and wrong password: same status, same body, same event but the username, and the same scrypt work', async () => {
    const password = 'not-the-password';
    const wrong = await attempt('alice', password);
    const unknown = await attempt('mallory', password);
    const unknownLong = await attempt(`nobody-${'x'.repeat(200)}`, password);
    for (const a of [wrong, unknown, unknownLong]) {
      assert.equal(a.res.status, 200);
      assert.equal(a.res.body.error?.code, 'INVALID_CREDENTIALS');
    }
    assert.deepEqual(unknown.res.body, wrong.res.body);
    assert.deepEqual(unknownLong.res.body, wrong.res.body);
    assert.deepEqual(Object.keys(unknown.res.headers).sort(), Object.keys(wrong.res.headers).sort(), 'the same headers');
    assert.equal(unknown.res.headers['content-length'], wrong.res.headers['content-length']);

    for (const a of [wrong, unknown, unknownLong]) assert.deepEqual(a.events.map((e) => e.event_id), ['WEB_100018']);
    assert.deepEqual(comparable(unknown.events[0]!), comparable(wrong.events[0]!));
    assert.deepEqual(comparable(unknownLong.events[0]!), comparable(wrong.events[0]!));
    assert.equal((wrong.events[0] as unknown as Record<string, unknown>).SOURCE_USER_NAME, 'alice');
    assert.equal((unknown.events[0] as unknown as Record<string, unknown>).SOURCE_USER_NAME, 'mallory');

    assert.equal(wrong.scrypt.length, 1, `wrong password: ${JSON.stringify(wrong.scrypt)}`);
    assert.deepEqual(unknown.scrypt, wrong.scrypt, 'an unknown user costs one scrypt call with the same parameters');
    assert.deepEqual(unknownLong.scrypt, wrong.scrypt);
  });

  it('a known user written differently (" ALICE ") is the same user: the same answer and the same work as alice', async () => {
    const a = await attempt('alice', 'nope-nope');
    const b = await attempt(' ALICE ', 'nope-nope');
    assert.deepEqual(b.res.body, a.res.body);
    assert.deepEqual(b.scrypt, a.scrypt);
  });

  it('the third failure aborts alike (MAX_ATTEMPTS, aborted), and attempts after it cost no scrypt for either', async () => {
    const run = async (identifier: string) => {
      const agent = request.agent(demo.app);
      const bodies = [];
      const work = [];
      for (let i = 0; i < 4; i += 1) {
        calls.length = 0;
        bodies.push((await tryLogin(agent, identifier, `guess-${i}`)).body);
        work.push(calls.length);
      }
      return { bodies, work };
    };
    const known = await run('bob');
    const unknown = await run('trudy');
    assert.deepEqual(unknown.bodies, known.bodies);
    assert.deepEqual(known.bodies.map((b) => b.error.code), ['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'MAX_ATTEMPTS', 'MAX_ATTEMPTS']);
    assert.deepEqual(known.work, [1, 1, 1, 0]);
    assert.deepEqual(unknown.work, known.work);
  });

  it('the no-JavaScript form: the page answered to an unknown user is the page answered to a wrong password', async () => {
    const form = async (identifier: string) => {
      const agent = request.agent(demo.app);
      const page = await agent.get('/authn/password').expect(200);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
      calls.length = 0;
      const res = await agent.post('/authn/password').type('form').send({ _csrf: csrf, identifier, password: 'wrong-wrong' });
      return { status: res.status, html: res.text.replaceAll(csrf, 'TOKEN'), work: calls.length };
    };
    const known = await form('carol');
    const unknown = await form('carl');
    assert.equal(known.status, 200);
    assert.equal(unknown.status, known.status);
    assert.equal(unknown.html, known.html);
    assert.equal(unknown.work, 1);
    assert.equal(known.work, 1);
  });

  it('input refused before any work is refused alike for known and unknown users (no scrypt)', async () => {
    for (const identifier of ['alice', 'mallory']) {
      const long = await attempt(identifier, 'p'.repeat(1025));
      assert.equal(long.res.status, 400);
      assert.equal(long.res.body.error.code, 'BAD_REQUEST');
      assert.equal(long.scrypt.length, 0);
      const empty = await attempt(identifier, '');
      assert.equal(empty.res.status, 400);
      assert.equal(empty.scrypt.length, 0);
    }
  });
});
