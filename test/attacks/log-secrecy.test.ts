import assert from 'node:assert/strict';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import { setLogLevel, silenceOperationalLog } from '../../src/events/logger.js';
import { registerValve } from '../../src/pipes/valve-registry.js';
import type { FlowContext } from '../../src/pipes/types.js';
import request from 'supertest';
import { OTP_PATH, otpHarness, type Harness } from '../support/otp-harness.js';
import { captureOutput } from '../support/capture-output.js';

// The operational log (winston's non-event lines: start-up, warnings, errors) quotes error texts this package does not
// write itself: a custom valve's exception, a library's message, a stack. Such a text may carry what it was handling.
// No code and no whole destination may reach the log that way (the event log is proven in test/http/otp.events.test.ts).
// The log is read where winston's Console transport writes it, process.stdout and process.stderr.

const MOBILE_AS_TYPED = '070-123 45 67';
const MOBILE = '+46701234567';
const EMAIL = 'alice.liddell@example.com';

/** What a custom valve saw before it threw: the clear code, the destination, the code the user typed. */
const seen: { code?: string; otp?: string } = {};

// A delivery valve of the host's own that fails loudly, quoting everything it was given.
registerValve('LeakyGateway', () => ({
  run(ctx: FlowContext) {
    seen.code = ctx.state.code?.value;
    throw new Error(`gateway refused "Your code is ${ctx.state.code?.value}" to ${ctx.state.destination?.address} (typed ${ctx.state.destination_input}), account ${EMAIL}`);
  },
}));
// A validation valve that fails quoting what the user typed.
registerValve('LeakyCheck', () => ({
  run(ctx: FlowContext) {
    seen.otp = ctx.state.otp;
    throw new Error(`cannot check ${ctx.state.otp} for ${MOBILE}`);
  },
}));


/** Whether `text` holds `value` as a token of its own (a code inside a longer number or id does not count). */
const holds = (text: string, value: string): boolean => new RegExp(`(?<![0-9A-Za-z])${value.replace(/[+.]/g, '\\$&')}(?![0-9A-Za-z])`).test(text);

describe('attack: codes and destinations in the operational log', () => {
  let h: Harness | undefined;
  before(() => { silenceOperationalLog(false); setLogLevel('debug'); });
  after(() => { silenceOperationalLog(true); setLogLevel('info'); });
  afterEach(async () => { await h?.close(); h = undefined; });

  it('a delivery valve that throws quoting the code and the destination: the line names the valve, never the code or the number', async () => {
    const log = await captureOutput(async () => {
      h = await otpHarness({}, {}, { pipes: [
        { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'LeakyGateway' }] },
        { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
      ] });
      await h.user({ username: 'alice', mobile: MOBILE_AS_TYPED });
    });
    assert.match(log, /pipe otp-send, valve LeakyGateway: VALVE ERROR: gateway refused/, `the failure is logged:\n${log}`);
    assert.ok(seen.code && /^[0-9]{6}$/.test(seen.code), 'the valve was given a code');
    assert.ok(!holds(log, seen.code), `no code in:\n${log}`);
    for (const whole of [MOBILE, MOBILE.slice(1), MOBILE_AS_TYPED, '701234567', EMAIL]) assert.ok(!log.includes(whole), `no ${whole} in:\n${log}`);
    assert.ok(log.includes('+46 70*** **67'), `the number appears masked as in the events:\n${log}`);
  });

  it('a validation valve that throws quoting the code the user typed: never in the log', async () => {
    const log = await captureOutput(async () => {
      h = await otpHarness({}, {}, { pipes: [
        { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'Outbox' }] },
        { id: 'otp-validate', valves: [{ name: 'LeakyCheck' }] },
      ] });
      const u = await h.user();
      await u.send('start', { otp: '424242' });
    });
    assert.equal(seen.otp, '424242', 'the valve saw the typed code');
    assert.match(log, /pipe otp-validate, valve LeakyCheck: VALVE ERROR: cannot check/, `the failure is logged:\n${log}`);
    assert.ok(!holds(log, '424242'), `no typed code in:\n${log}`);
    assert.ok(!log.includes(MOBILE), `no number in:\n${log}`);
  });

  it('an unexpected error whose message and stack quote a number and an address: logged masked, the client gets no detail', async () => {
    class BrokenStore extends MemoryTransactionStore {
      override async open(): Promise<never> {
        throw new Error(`index corrupt near ${MOBILE} / ${EMAIL} / 46701234567`);
      }
    }
    let answer: request.Response | undefined;
    const log = await captureOutput(async () => {
      h = await otpHarness({}, { store: new BrokenStore({ sweepIntervalMs: 0 }) });
      const agent = request.agent(h.app);
      await agent.post('/test/exports').send({ username: 'alice', mobile: MOBILE }).expect(200);
      answer = await agent.get(OTP_PATH).set('Accept', 'application/json');
    });
    assert.equal(answer?.status, 500);
    assert.deepEqual(answer?.body, { status: 'ERROR', error: { code: 'INTERNAL', message: 'Internal error' } }, 'nothing of the error reaches the client');
    assert.match(log, /unexpected error on GET \/authn\/otp\/?: Error: index corrupt near/, `the error is logged:\n${log}`);
    for (const whole of [MOBILE, '46701234567', EMAIL]) assert.ok(!log.includes(whole), `no ${whole} in:\n${log}`);
    assert.ok(log.includes('a***@example.com'), `the address appears masked:\n${log}`);
  });
});
