import assert from 'node:assert/strict';
import { ALICE, assertErrorAnswer, fakeClock, firstGet, harnessPerTest, outboxCount, session, wrongCode } from '../support/otp-api.js';
import type { Harness } from '../support/otp-harness.js';

async function abort(h: Harness): Promise<void> {
  const u = await h.user();
  for (let i = 1; i <= 3; i += 1) await u.send('start', { otp: wrongCode(h.codes(), i) }).expect(200);
}

describe('OTP API: lockout (fake clock)', () => {
  const clock = fakeClock();
  const h = harnessPerTest({}, () => ({ now: clock.now }));

  it('retry_after counts down, and once the lockout ends a new session starts and gets a code', async () => {
    await abort(h());
    clock.advance(200);
    const locked = await firstGet(await session(h(), ALICE));
    assertErrorAnswer(locked, 423, 'LOCKED');
    assert.equal(locked.body.retry_after, 400);
    assert.equal(locked.headers['retry-after'], '400');
    clock.advance(401);
    const sent = outboxCount(h());
    const s = await session(h(), ALICE);
    const open = await firstGet(s);
    assert.equal(open.status, 200, open.text);
    assert.equal(open.body.status, 'PENDING');
    assert.equal(outboxCount(h()), sent + 1);
  });

  it('cancel does not lock', async () => {
    const u = await h().user();
    await u.send('cancel').expect(200);
    const s = await session(h(), ALICE);
    assert.equal((await firstGet(s)).status, 200);
  });
});

describe('OTP API: lockout_seconds 0', () => {
  const h = harnessPerTest({ lockout_seconds: 0 });

  it('an abort sets no lockout: another session starts', async () => {
    await abort(h());
    const res = await firstGet(await session(h(), ALICE));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'PENDING');
  });
});
