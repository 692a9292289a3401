import assert from 'node:assert/strict';
import crypto, { createHmac } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { hashCode, matchCode } from '../../src/codes/code-hash.js';
import { ALICE, ALICE_MOBILE, harnessPerTest } from '../support/otp-api.js';
import { otpHarness } from '../support/otp-harness.js';
import { describeRedis } from '../support/redis.js';

// Issue 13: guessing or stealing a code other than by typing it. The code comes from the CSPRNG (crypto.randomInt,
// no modulo bias), only an HMAC-SHA-256 of it keyed with OTP_SECRET and bound to its transaction is stored (a stolen
// store dump cannot be brute-forced offline without the key, nor replayed into another transaction), the check does
// the same work whether the code is right or wrong (timingSafeEqual over every live hash under every key), and the
// report and answers never carry it. Like enumeration.test.ts this observes node's crypto functions by replacing their
// CommonJS exports and syncing the ESM bindings (module.syncBuiltinESMExports), never by timing.
// Already proven: alphabet, length and no repeats over 1,000 codes (test/unit/valves.otp-code.test.ts); no code in
// any event (test/http/otp.events.test.ts).

type Fn = (...args: unknown[]) => unknown;

/** Whether `text` holds `code` as a token of its own (not by chance inside a longer number, id or hash). */
const holds = (text: string, code: string): boolean => new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`).test(text);

/** Replaces crypto[name] with a counting wrapper for the duration of `body`. */
async function counting<T>(name: 'randomInt' | 'timingSafeEqual' | 'createHmac', body: (calls: unknown[][]) => Promise<T> | T): Promise<T> {
  const c = crypto as unknown as Record<string, Fn>;
  const original = c[name]!;
  const calls: unknown[][] = [];
  c[name] = function (this: unknown, ...args: unknown[]) { calls.push(args); return original.apply(this, args); };
  syncBuiltinESMExports();
  try {
    return await body(calls);
  } finally {
    c[name] = original;
    syncBuiltinESMExports();
  }
}

describe('attack: predicting or stealing codes (memory store)', () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0 });

  it('each code is drawn from crypto.randomInt, one draw per symbol over the whole alphabet', async () => {
    await counting('randomInt', async (calls) => {
      const u = await h().user();
      await u.send('resend').expect(200);
      const numericDraws = calls.filter((a) => a.length === 1 && a[0] === 10);
      assert.equal(numericDraws.length, 12, `two 6-digit codes, 6 draws each from 0..9: ${JSON.stringify(calls)}`);
    });
  });

  it('the store holds only a keyed hash bound to the transaction, never the code', async () => {
    const u = await h().user();
    const code = h().codes(ALICE_MOBILE).at(-1)!;
    const tx = await h().authn.store.get({ sessionId: await sessionIdOf(u), authenticatorId: 'otp', subject: 'alice' }, Date.now());
    assert.ok(tx, 'the transaction is found');
    const stored = JSON.stringify(tx);
    assert.ok(!holds(stored, code), 'the code is not in the record');
    const hash = tx.codes[0]!.hash;
    assert.equal(hash, hashCode(['test-otp-secret'], tx.id, code), 'HMAC-SHA-256 under OTP_SECRET, over the transaction id and the code');
    assert.notEqual(hash, hashCode(['another-key'], tx.id, code), 'without the key the hash cannot be recomputed');
    assert.notEqual(hash, hashCode(['test-otp-secret'], `${tx.id}x`, code), 'bound to the transaction: the same code hashes differently elsewhere');
    const plain = createHmac('sha256', '').update(code).digest('base64url');
    assert.ok(!stored.includes(plain), 'not an unkeyed hash either');
  });

  it('the status answer, its report and the HTML page carry no code', async () => {
    const u = await h().user();
    const code = h().codes(ALICE_MOBILE).at(-1)!;
    const status = await u.send('status');
    assert.ok(!holds(JSON.stringify(status.body), code));
    const page = await u.get('text/html');
    assert.ok(!holds(page.text, code));
    const done = await u.send('start', { otp: code });
    assert.equal(done.body.status, 'COMPLETED');
    assert.ok(!holds(JSON.stringify(done.body), code));
  });
});

/** The session id of a harness user, from its signed cookie. */
async function sessionIdOf(u: { agent: { jar: { getCookies(o: object): { name: string; value: string }[] } } } | object): Promise<string> {
  const jar = (u as { agent: { jar: { getCookies(o: object): { name: string; value: string }[] } } }).agent.jar;
  const sid = jar.getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false }).find((c) => c.name === 'sid')?.value ?? '';
  const m = /^s%3A([^.]+)\./.exec(sid) ?? /^s:([^.]+)\./.exec(sid);
  if (!m) throw new Error(`no signed sid cookie: ${sid}`);
  return decodeURIComponent(m[1]!);
}

describe('attack: timing the code check (constant work, observed by counting)', () => {
  const keys = ['key-b', 'key-a'];
  const live = ['111111', '222222', '333333'].map((code, i) => ({ id: `c${i}`, hash: hashCode(['key-a'], 'tx-1', code) }));

  async function work(input: string) {
    return counting('timingSafeEqual', (compares) => counting('createHmac', (hmacs) => {
      const matched = matchCode(keys, 'tx-1', input, live);
      return { matched, compares: compares.length, hmacs: hmacs.length };
    }));
  }

  it('a right code, a wrong code, a near miss and an over-long input cost the same HMACs and comparisons', async () => {
    const right = await work('222222');
    const wrong = await work('999999');
    const near = await work('222223');
    const long = await work('2'.repeat(65));
    assert.equal(right.matched, 'c1');
    assert.equal(wrong.matched, null);
    assert.equal(near.matched, null);
    assert.equal(long.matched, null);
    for (const w of [right, wrong, near, long]) {
      assert.equal(w.hmacs, keys.length, 'one HMAC per key');
      assert.equal(w.compares, keys.length * live.length, 'every live hash under every key, whatever matched');
    }
  });

  it('a match on the first code does not stop the loop early', async () => {
    const first = await work('111111');
    const last = await work('333333');
    assert.equal(first.compares, last.compares);
  });
});

describe('attack: timing the CSRF token check (observed by counting)', () => {
  const h = harnessPerTest();

  it('a wrong token of the right length is compared with crypto.timingSafeEqual, and refused', async () => {
    const u = await h().user();
    const forged = u.csrf.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    await counting('timingSafeEqual', async (calls) => {
      const res = await u.agent.post('/authn/otp').set('X-CSRF-Token', forged).send({ type: 'status' });
      assert.equal(res.status, 403);
      assert.equal(calls.length, 1, 'one constant-time comparison of the two tokens');
      assert.equal((calls[0]![0] as Buffer).length, u.csrf.length);
    });
  });
});

describeRedis('attack: stealing codes from a Redis dump', (ctx) => {
  it('no key under the prefix holds a code that was sent (transactions, limits, sessions)', async () => {
    const prefix = `${ctx.prefix}dump:`;
    const h = await otpHarness({ resend_cooldown_seconds: 0 }, {}, { store: { type: 'redis', url: ctx.url, prefix } });
    try {
      const u = await h.user(ALICE);
      await u.send('resend').expect(200);
      const codes = h.codes(ALICE_MOBILE);
      assert.equal(codes.length, 2);
      let values = '';
      for await (const batch of ctx.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 200 })) {
        for (const key of batch) {
          const type = await ctx.client.type(key);
          if (type === 'string') values += await ctx.client.get(key);
          else if (type === 'hash') values += JSON.stringify(await ctx.client.hGetAll(key));
        }
      }
      assert.ok(values.includes('"h1.'), 'the keyed hashes are there');
      for (const code of codes) assert.ok(!holds(values, code), `the code ${code} is in Redis`);
    } finally {
      await h.close();
    }
  });
});
