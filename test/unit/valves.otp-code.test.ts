import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import { generateCode, CODE_ALPHABETS } from '../../src/valves/otp-generate.js';
import { hashCode, matchCode, normaliseEnteredCode } from '../../src/codes/code-hash.js';
import type { CodePolicy, FlowContext, ValveDeps } from '../../src/pipes/types.js';

function deps(otpKeys: string[]): ValveDeps {
  return { otpKeys, configDir: '.', now: () => 0, production: false };
}

function ctxFor(code: Partial<CodePolicy>, state: FlowContext['state'] = { transaction_id: 'tx-1' }): FlowContext {
  return createFlowContext({
    authenticator: { id: 'otp', type: 'OTP', code: { length: 6, charset: 'numeric', ttl_seconds: 600, ...code } },
    state,
  });
}

async function issue(keys: string[], transactionId = 'tx-1', policy: Partial<CodePolicy> = {}): Promise<{ value: string; hash: string }> {
  const ctx = ctxFor(policy, { transaction_id: transactionId });
  const result = await buildPipe({ id: 'gen', valves: [{ name: 'OtpGenerate' }] }, deps(keys)).run(ctx);
  assert.deepEqual(result, { ok: true });
  assert.ok(ctx.state.code);
  return ctx.state.code;
}

async function validate(keys: string[], otp: string, liveHash: string, transactionId = 'tx-1', charset: CodePolicy['charset'] = 'numeric') {
  const ctx = ctxFor({ charset }, { transaction_id: transactionId, otp, live_codes: [{ id: 'c1', hash: liveHash }] });
  const result = await buildPipe({ id: 'val', valves: [{ name: 'OtpValidate' }] }, deps(keys)).run(ctx);
  return { result, matched: ctx.state.matched_code_id };
}

describe('OtpGenerate', () => {
  for (const length of [6, 7, 8, 9, 10]) {
    it(`makes a numeric code of ${length} digits`, async () => {
      const { value } = await issue(['k'], 'tx-1', { length, charset: 'numeric' });
      assert.match(value, new RegExp(`^[0-9]{${length}}$`));
    });
  }
  for (const length of [4, 5, 6, 7, 8, 9, 10]) {
    it(`makes an alphanumeric code of ${length} symbols from the 32 without look-alikes`, async () => {
      const { value } = await issue(['k'], 'tx-1', { length, charset: 'alphanumeric' });
      assert.match(value, new RegExp(`^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{${length}}$`));
    });
  }

  it('uses only the allowed symbols, all of them, over many codes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) for (const ch of generateCode(10, 'alphanumeric')) seen.add(ch);
    assert.equal([...seen].sort().join(''), [...CODE_ALPHABETS.alphanumeric].sort().join(''));
  });

  it('does not repeat itself over 1,000 eight-digit codes', () => {
    const codes = new Set(Array.from({ length: 1000 }, () => generateCode(8, 'numeric')));
    // 1,000 draws from 10^8: a collision has a probability of about 0.5 %, more means a broken generator.
    assert.ok(codes.size >= 998, `only ${codes.size} distinct codes`);
  });

  it('refuses lengths outside the SPEC ranges', () => {
    assert.throws(() => generateCode(5, 'numeric'), RangeError);
    assert.throws(() => generateCode(11, 'numeric'), RangeError);
    assert.throws(() => generateCode(3, 'alphanumeric'), RangeError);
  });

  it('lets the valve config override the authenticator policy', async () => {
    const ctx = ctxFor({}, { transaction_id: 't' });
    await buildPipe({ id: 'g', valves: [{ name: 'OtpGenerate', config: { length: 8, charset: 'alphanumeric' } }] }, deps(['k'])).run(ctx);
    assert.match(ctx.state.code?.value ?? '', /^[2-9A-HJ-NP-Z]{8}$/);
  });

  it('fails VALVE ERROR without a transaction id, and stores the hash, not the code', async () => {
    const ctx = ctxFor({}, {});
    const result = await buildPipe({ id: 'g', valves: [{ name: 'OtpGenerate' }] }, deps(['k'])).run(ctx);
    assert.equal(!result.ok && result.failure.reason, 'VALVE ERROR');
    const { value, hash } = await issue(['k']);
    assert.ok(!hash.includes(value));
    assert.equal(hash, hashCode(['k'], 'tx-1', value));
  });
});

describe('entered code normalisation', () => {
  const cases: Array<[string, 'numeric' | 'alphanumeric', string]> = [
    [' 12 34 56 ', 'numeric', '123456'],
    ['12-34-56', 'numeric', '123456'],
    ['１２３４５６', 'numeric', '123456'],
    ['١٢٣٤٥٦', 'numeric', '123456'],
    ['۱۲۳۴۵۶', 'numeric', '123456'],
    ['१२३४५६', 'numeric', '123456'],
    ['12\u00a034\u201356\u200b', 'numeric', '123456'],
    ['ab3d-ef', 'alphanumeric', 'AB3DEF'],
    ['ａｂ３ｄ', 'alphanumeric', 'AB3D'],
  ];
  for (const [input, charset, expected] of cases) {
    it(`reads ${JSON.stringify(input)} as ${expected}`, () => {
      assert.equal(normaliseEnteredCode(input, charset), expected);
    });
  }
  it('turns over-long or non-string input into nothing', () => {
    assert.equal(normaliseEnteredCode('1'.repeat(65)), '');
    assert.equal(normaliseEnteredCode(123456 as unknown as string), '');
  });
});

describe('OtpValidate', () => {
  it('accepts the code as the user types it, with spaces and full-width digits', async () => {
    const { value, hash } = await issue(['A']);
    const typed = [...value].map((d) => String.fromCharCode(0xff10 + Number(d))).join(' ');
    assert.deepEqual(await validate(['A'], typed, hash), { result: { ok: true }, matched: 'c1' });
  });

  it('accepts a lower-case alphanumeric code', async () => {
    const { value, hash } = await issue(['A'], 'tx-1', { length: 6, charset: 'alphanumeric' });
    const { result } = await validate(['A'], value.toLowerCase(), hash, 'tx-1', 'alphanumeric');
    assert.deepEqual(result, { ok: true });
  });

  it('accepts a code issued under key A after rotation to keys [B, A]', async () => {
    const { value, hash } = await issue(['A']);
    assert.deepEqual((await validate(['B', 'A'], value, hash)).result, { ok: true });
  });

  it('refuses a code whose key was removed', async () => {
    const { value, hash } = await issue(['A']);
    const { result, matched } = await validate(['B'], value, hash);
    assert.equal(!result.ok && result.failure.reason, 'INVALID OTP');
    assert.equal(matched, undefined);
  });

  it('refuses a wrong code of the right length', async () => {
    const { value, hash } = await issue(['A']);
    const wrong = value.slice(0, 5) + String((Number(value[5]) + 1) % 10);
    const { result } = await validate(['A'], wrong, hash);
    assert.deepEqual(result, { ok: false, failure: { reason: 'INVALID OTP', valve: 'OtpValidate' } });
  });

  it('refuses a code bound to another transaction', async () => {
    const { value, hash } = await issue(['A'], 'tx-other');
    const { result } = await validate(['A'], value, hash, 'tx-1');
    assert.equal(!result.ok && result.failure.reason, 'INVALID OTP');
  });

  it('finds the matching code among several live ones and tolerates a malformed hash', () => {
    const h1 = hashCode(['A'], 't', '111111');
    const h2 = hashCode(['A'], 't', '222222');
    const live = [{ id: 'bad', hash: 'garbage' }, { id: 'one', hash: h1 }, { id: 'two', hash: h2 }];
    assert.equal(matchCode(['B', 'A'], 't', '222222', live), 'two');
    assert.equal(matchCode(['B', 'A'], 't', '333333', live), null);
    assert.equal(matchCode(['A'], 't', '', live), null);
  });
});

describe('stored code hashes keep their format', () => {
  // Codes live in Redis across a deploy: a hash stored by the last version must still match, however the key is
  // handed to HMAC (src/codes/code-hash.ts imports it once as a KeyObject).
  it('h1. + base64url HMAC-SHA256 of "otp:<id length>:<id>:<code>" under the first key', () => {
    const expected = `h1.${createHmac('sha256', 'secret-key').update('otp:4:tx-1:123456', 'utf8').digest('base64url')}`;
    assert.equal(hashCode(['secret-key', 'old-key'], 'tx-1', '123456'), expected);
    assert.equal(matchCode(['new-key', 'secret-key'], 'tx-1', '123456', [{ id: 'c', hash: expected }]), 'c');
  });
});
