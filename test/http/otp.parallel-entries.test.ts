import assert from 'node:assert/strict';
import { onRedisStore } from '../support/test-store.js';
import { answerKind, countBy, eventsOf, HIGH_LIMITS, harnessPerTest, outboxCount, parallel, wrongCode } from '../support/otp-api.js';

describe('OTP API: parallel entries on one transaction (SPEC 3 and 7)', function () {
  this.timeout(20000);
  const h = harnessPerTest(HIGH_LIMITS);

  it('200 parallel wrong entries: exactly 3 evaluated (2 INVALID_OTP, 1 MAX_ATTEMPTS aborted), the rest refused unevaluated', async () => {
    const u = await h().user();
    const codes = h().codes();
    const answers = await parallel(200, (i) => u.send('start', { otp: wrongCode(codes, i) }));
    const kinds = countBy(answers, answerKind);
    assert.equal(kinds.INVALID_OTP, 2, JSON.stringify(kinds));
    assert.equal((kinds.MAX_ATTEMPTS ?? 0) + (kinds.RATE_LIMITED ?? 0), 198, JSON.stringify(kinds));
    for (const res of answers) {
      assert.ok(res.status === 200 || (res.status === 429 && answerKind(res) === 'RATE_LIMITED'), `${res.status} ${res.text}`);
      if (answerKind(res) === 'MAX_ATTEMPTS') {
        // SPEC 3: every other entry answers MAX_ATTEMPTS unevaluated: after the abort (aborted, 0 left), or while
        // every remaining attempt is held by entries still being checked (not aborted, attempts still counted).
        if (res.body.aborted) assert.equal(res.body.attempts_left, 0);
        else assert.ok(res.body.attempts_left > 0, res.text);
      }
    }
    const failed = eventsOf(h(), 'WEB_100020');
    assert.equal(failed.length, 3, 'allowed_otp_retry + 1 entries evaluated');
    assert.deepEqual(failed.map((e) => e.attempt).sort(), [1, 2, 3]);
    assert.equal(failed.filter((e) => e.aborted === true).length, 1, 'exactly one evaluated MAX_ATTEMPTS with aborted:true');
    assert.equal(eventsOf(h(), 'OTP_200008').length, 1, 'one abort');
    const invalidLeft = answers.filter((r) => answerKind(r) === 'INVALID_OTP').map((r) => r.body.attempts_left).sort();
    assert.deepEqual(invalidLeft, [1, 2]);
    const status = await u.send('status').expect(200);
    assert.equal(status.body.status, 'ABORTED');
    assert.equal(status.body.report.attempt_count, 3);
  });

  it('the right code sent 50 times in parallel completes exactly once', async () => {
    const u = await h().user();
    const [code] = h().codes();
    const answers = await parallel(50, () => u.send('start', { otp: code }));
    const kinds = countBy(answers, answerKind);
    if (!onRedisStore) {
      // The memory store settles each entry before the next request is read: every other one finds it COMPLETED.
      assert.deepEqual(kinds, { COMPLETED: 1, NO_PENDING_CODE: 49 });
    } else {
      // On Redis every step is a round trip, so entries really overlap: one arriving while all 3 attempts are
      // reserved by entries still being checked answers MAX_ATTEMPTS unevaluated (SPEC 3: "none left"), not
      // aborted and with no attempt spent; every other one NO_PENDING_CODE. Still exactly one completes.
      assert.equal(kinds.COMPLETED, 1, JSON.stringify(kinds));
      assert.equal((kinds.NO_PENDING_CODE ?? 0) + (kinds.MAX_ATTEMPTS ?? 0), 49, JSON.stringify(kinds));
      for (const res of answers.filter((r) => answerKind(r) === 'MAX_ATTEMPTS')) {
        assert.equal(res.body.aborted, false, res.text);
        assert.equal(res.body.attempts_left, 3, res.text);
      }
    }
    for (const res of answers) assert.equal(res.status, answerKind(res) === 'NO_PENDING_CODE' ? 409 : 200, res.text);
    assert.equal(eventsOf(h(), 'WEB_100019').length, 1);
    assert.equal(eventsOf(h(), 'WEB_100020').length, 0);
  });

});

describe('OTP API: parallel resends', () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0 });

  it('20 parallel resends (cooldown 0) send max_codes in all: 2 PENDING, 18 MAX_CODES', async () => {
    const u = await h().user();
    const answers = await parallel(20, () => u.send('resend'));
    const kinds = countBy(answers, answerKind);
    assert.deepEqual(kinds, { PENDING: 2, MAX_CODES: 18 });
    assert.equal(outboxCount(h()), 3);
    assert.equal(eventsOf(h(), 'OTP_200005').length, 2);
  });
});

describe('OTP API: right and wrong codes in parallel', () => {
  const h = harnessPerTest(HIGH_LIMITS);

  it('100 entries, half right: at most 3 evaluated, accepted at most once, never both accepted and aborted', async () => {
    const u = await h().user();
    const codes = h().codes();
    const answers = await parallel(100, (i) => u.send('start', { otp: i % 2 === 0 ? codes[0] : wrongCode(codes, i) }));
    const kinds = countBy(answers, answerKind);
    const validated = eventsOf(h(), 'WEB_100019').length;
    const failed = eventsOf(h(), 'WEB_100020');
    assert.ok(validated <= 1, JSON.stringify(kinds));
    assert.ok(validated + failed.length <= 3, `evaluated ${validated + failed.length}: ${JSON.stringify(kinds)}`);
    assert.equal(kinds.COMPLETED ?? 0, validated);
    const aborted = failed.some((e) => e.aborted === true);
    assert.ok(!(validated === 1 && aborted), 'not both accepted and aborted');
    const status = (await u.send('status').expect(200)).body.status;
    assert.equal(status, validated === 1 ? 'COMPLETED' : 'ABORTED');
    for (const res of answers) assert.ok(res.status < 500, res.text);
  });
});
