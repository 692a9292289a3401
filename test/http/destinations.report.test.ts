import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { MemoryTransactionStore } from '../../src/store/memory-store.js';
import { otpHarness, type Harness, type UserAgent } from '../support/otp-harness.js';
import { fakeClock, wrongCode } from '../support/otp-api.js';

/**
 * Destinations (SPEC sections 2, 5, 6) through the HTTP API, and every outcome of the verification report. The
 * reports seen here are written to docs/report.md (UPDATE_DOCS=1 rewrites it; otherwise the test checks the
 * file is what the API answers), so the documented examples are real answers, not hand-written.
 */
const POLICY_PIPES = [
  { id: 'otp-send', valves: [
    { name: 'PhoneNormalize', config: { default_country: 'SE' } },
    { name: 'PhonePolicy', config: { do_not_send_to_types: ['premium_rate', 'shared_cost', 'toll_free'], blacklist: ['KP'] } },
    { name: 'OtpGenerate' }, { name: 'Outbox' },
  ] },
  { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
];

const examples: { title: string; report: unknown }[] = [];

async function build(otp: Record<string, unknown> = {}, pipes?: unknown[]): Promise<{ h: Harness; clock: ReturnType<typeof fakeClock> }> {
  const clock = fakeClock(Date.parse('2030-01-01T09:00:00.000Z'));
  let n = 0;
  const store = new MemoryTransactionStore({ clock: clock.now, newId: () => `txn-${String(++n).padStart(4, '0')}`, sweepIntervalMs: 0 });
  const h = await otpHarness({ destination: { source: '${exports.mobile}', allow_change: true, max_changes: 2 }, resend_cooldown_seconds: 0, ...otp }, { store, now: clock.now }, pipes ? { pipes } : {});
  return { h, clock };
}

async function status(u: UserAgent): Promise<Record<string, any>> {
  const res = await u.send('status').expect(200);
  return res.body as Record<string, any>;
}

describe('destinations and the verification report through the API', () => {
  const policyHarness = (otp: Record<string, unknown> = {}) => build(otp, POLICY_PIPES);

  it('numbers of several countries and types are normalised and masked', async () => {
    const { h } = await policyHarness();
    try {
      const cases: [string, string, number][] = [
        ['070-123 45 67', '+46 70*** **67', 200], // Swedish mobile, national format, default country SE
        ['08-123 456 78', '+46 81*** **78', 200], // Swedish landline
        ['+44 7400 123456', '+44 74**** **56', 200], // UK mobile
        ['+1 201-555-0123', '+1 20**** **23', 200], // US (fixed line or mobile)
        ['+44 56 1234 5678', '+44 56**** **78', 200], // UK VoIP: allowed by this policy
      ];
      for (const [input, masked, code] of cases) {
        const u = await h.user({ username: `u${input}`, mobile: input });
        const page = await u.get().expect(code);
        assert.equal(page.body.destination, masked, input);
        assert.equal(page.body.status, 'PENDING');
      }
    } finally { await h.close(); }
  });

  it('garbage and national numbers without a country are INVALID_DESTINATION; the report says DATA CHECK FAILED', async () => {
    const { h } = await policyHarness();
    try {
      const u = await h.user({ username: 'g', mobile: 'call me maybe' });
      const first = await u.get().expect(400);
      assert.equal(first.body.error.code, 'INVALID_DESTINATION');
      const s = await status(u);
      assert.equal(s.status, 'FAILED');
      assert.equal(s.report.detail, 'DATA CHECK FAILED');
      assert.equal(s.report.action, 'FAIL');
      examples.push({ title: 'The destination does not parse (`DATA CHECK FAILED`)', report: s.report });
      assert.ok(h.events.some((e) => e.event_id === 'OTP_200013'));
    } finally { await h.close(); }
  });

  it('each policy refusal is DESTINATION_NOT_ALLOWED (403) with an event; the report says SUPPRESSED SENDING CODE', async () => {
    const { h } = await policyHarness();
    try {
      for (const number of ['+44 909 879 0000', '0939-12 34 56', '0771-12 34 56', '+1 800 555 0199', '+850 2 123 4567']) {
        const u = await h.user({ username: `p${number}`, mobile: number });
        const res = await u.get();
        if (res.status === 400) continue; // a number libphonenumber does not know is a data check, covered above
        assert.equal(res.status, 403, number);
        assert.equal(res.body.error.code, 'DESTINATION_NOT_ALLOWED');
      }
      assert.equal(h.codes().length, 0, 'nothing was sent');
      const u = await h.user({ username: 'premium', mobile: '+44 909 879 0000' });
      await u.get().expect(403);
      const s = await status(u);
      assert.equal(s.report.detail, 'SUPPRESSED SENDING CODE');
      assert.equal(s.report.breakdown.attempts.result, null);
      examples.push({ title: 'Policy refused the destination (`SUPPRESSED SENDING CODE`)', report: s.report });
      assert.ok(h.events.filter((e) => e.event_id === 'OTP_200004').length >= 4);
    } finally { await h.close(); }
  });

  it('changes count distinct destinations (A to B to A is one), refuse past max_changes, and kill codes sent elsewhere', async () => {
    const { h, clock } = await policyHarness({ max_codes: 10 });
    try {
      const u = await h.user({ username: 'alice', mobile: '+46701234567' });
      const firstCode = h.codes('+46701234567')[0]!;
      clock.advance(5);
      const toUk = await u.send('change_destination', { destination: '+44 7400 123456' }).expect(200);
      assert.equal(toUk.body.destination, '+44 74**** **56');
      const back = await u.send('change_destination', { destination: '070 123 45 67' }).expect(200);
      assert.equal(back.body.destination, '+46 70*** **67');
      const toUs = await u.send('change_destination', { destination: '+1 201 555 0123' }).expect(200);
      assert.equal(toUs.body.destination, '+1 20**** **23');
      const third = await u.send('change_destination', { destination: '+46 8 123 456 78' }).expect(409);
      assert.equal(third.body.error.code, 'MAX_CHANGES');
      const bad = await u.send('change_destination', { destination: 'nonsense' }).expect(400);
      assert.equal(bad.body.error.code, 'INVALID_DESTINATION');
      const refused = await u.send('change_destination', { destination: '+44 909 879 0000' }).expect(403);
      assert.equal(refused.body.error.code, 'DESTINATION_NOT_ALLOWED');
      const old = await u.send('start', { otp: firstCode });
      assert.equal(back.status, 200, JSON.stringify(back.body));
      assert.equal(old.body.error.code, 'INVALID_OTP', 'the code sent before the changes is dead');
      const s = await status(u);
      assert.equal(s.report.properties.phone_number_changes, 2);
      // Masked in the answer (a browser reads it); exports.otp_report keeps them whole for the host app.
      assert.deepEqual(s.report.properties.destination_changes.map((c: { to: string }) => c.to), ['+44 74**** **56', '+46 70*** **67', '+1 20**** **23']);
      assert.equal(s.report.properties.initial_destination, '+46 70*** **67');
      assert.equal(s.report.properties.final_destination, '+1 20**** **23');
      const masked = h.events.filter((e) => e.event_id === 'OTP_200006');
      assert.equal(masked.length, 3);
      assert.ok(masked.every((e) => !JSON.stringify(e).includes('7400123456') && !JSON.stringify(e).includes('2015550123')), 'changes are logged masked');
      const last = h.codes('+12015550123').at(-1)!;
      const done = await u.send('start', { otp: last }).expect(200);
      assert.equal(done.body.status, 'COMPLETED');
      const approved = await status(u);
      assert.equal(approved.report.breakdown.phone_number.result, 'clear');
      examples.push({ title: 'A code accepted after changes of destination', report: approved.report });
    } finally { await h.close(); }
  });

  it('three changes (where max_changes allows them) make the phone_number breakdown consider', async () => {
    const { h } = await policyHarness({ max_codes: 10, destination: { source: '${exports.mobile}', allow_change: true, max_changes: 3 } });
    try {
      const u = await h.user({ username: 'alice', mobile: '+46701234567' });
      for (const d of ['+44 7400 123456', '+1 201 555 0123', '+46 8 123 456 78']) await u.send('change_destination', { destination: d }).expect(200);
      await u.send('start', { otp: h.codes('+46812345678').at(-1) }).expect(200);
      const s = await status(u);
      assert.equal(s.report.breakdown.phone_number.result, 'consider');
      assert.equal(s.report.result, 'consider', 'result is consider whenever a breakdown is');
      assert.equal(s.report.status, 'approved');
    } finally { await h.close(); }
  });

  it('login MFA keeps changes off: MAX_CHANGES', async () => {
    const { h } = await build({ destination: { source: '${exports.mobile}' } });
    try {
      const u = await h.user();
      const res = await u.send('change_destination', { destination: '+44 7400 123456' }).expect(409);
      assert.equal(res.body.error.code, 'MAX_CHANGES');
    } finally { await h.close(); }
  });

  it('every other report outcome through the API: pending, approved, aborted, expired, cancelled, delivery failed', async () => {
    {
      const { h } = await build();
      const u = await h.user();
      examples.push({ title: 'Code sent, waiting', report: (await status(u)).report });
      await u.send('start', { otp: h.codes()[0] }).expect(200);
      examples.push({ title: 'A code accepted', report: (await status(u)).report });
      await h.close();
    }
    {
      const { h } = await build();
      const u = await h.user();
      for (let i = 0; i < 3; i++) await u.send('start', { otp: wrongCode(h.codes(), i) });
      const s = await status(u);
      assert.equal(s.report.detail, 'FAILED OUT-OF-BAND CHECK');
      examples.push({ title: 'Aborted: too many wrong entries', report: s.report });
      await h.close();
    }
    {
      const { h, clock } = await build({ max_codes: 1 });
      const u = await h.user();
      clock.advance(601);
      const s = await status(u);
      assert.equal(s.status, 'EXPIRED');
      examples.push({ title: 'Every code expired, none left', report: s.report });
      await h.close();
    }
    {
      const { h } = await build();
      const u = await h.user();
      await u.send('cancel').expect(200);
      const s = await status(u);
      assert.equal(s.report.detail, 'TRANSACTION CANCELLED');
      examples.push({ title: 'Cancelled', report: s.report });
      await h.close();
    }
    {
      const { h } = await build({}, [
        { id: 'otp-send', valves: [{ name: 'PhoneNormalize', config: { default_country: 'SE' } }, { name: 'OtpGenerate' }, { name: 'FlowFail', config: { reason: 'FAILED TO SEND TO NUMBER' } }] },
        { id: 'otp-validate', valves: [{ name: 'OtpValidate' }] },
      ]);
      const u = await h.user();
      const first = await u.get().expect(502);
      assert.equal(first.body.error.code, 'DELIVERY_FAILED');
      const s = await status(u);
      assert.equal(s.report.detail, 'FAILED TO SEND TO NUMBER');
      assert.equal(s.report.properties.codes_sent, 0, 'a failed delivery is not a code sent');
      examples.push({ title: 'Delivery failed, no code reached the user (`FAILED TO SEND TO NUMBER`)', report: s.report });
      assert.ok(h.events.some((e) => e.event_id === 'OTP_200003'));
      await h.close();
    }
  });

  after(() => {
    const order = ['Code sent, waiting', 'A code accepted', 'A code accepted after changes of destination', 'Aborted: too many wrong entries',
      'Every code expired, none left', 'Cancelled', 'The destination does not parse (`DATA CHECK FAILED`)',
      'Policy refused the destination (`SUPPRESSED SENDING CODE`)', 'Delivery failed, no code reached the user (`FAILED TO SEND TO NUMBER`)'];
    if (examples.length !== order.length) return; // a test above failed; it reports itself
    const doc = renderReportDoc(order.map((title) => examples.find((e) => e.title === title)!));
    if (process.env.UPDATE_DOCS === '1') writeFileSync('docs/report.md', doc);
    else assert.equal(readFileSync('docs/report.md', 'utf8'), doc, 'docs/report.md is not what the API answers: run UPDATE_DOCS=1 npx mocha test/http/destinations.report.test.ts');
  });
});

function renderReportDoc(items: { title: string; report: unknown }[]): string {
  const head = `# The verification report

Every OTP transaction has a report (SPEC section 5). It is answered by \`status\` under \`report\`, exported to
later steps as \`exports.otp_report\` (and per authenticator as \`exports.otp_reports.<id>\`), written with the
final event, and shown on the demo's \`/account\`. It carries three vocabularies at once: \`status\` (pending,
approved, reject), \`result\` with \`breakdown\` (clear, consider), and \`action\`/\`detail\` (PENDING, PASS, FAIL).
Destinations are whole in \`exports.otp_report\`, which only the host app reads; in the \`status\` answer (a browser
that may hold only the password reads it) and in events they are masked, as in the examples below. The code itself
is never stored in clear, so the report does not carry it.

| outcome | \`status\` | \`result\` | \`breakdown.attempts.result\` | \`action\` | \`detail\` |
| --- | --- | --- | --- | --- | --- |
${items.map(({ title, report }) => {
    const r = report as Record<string, any>;
    return `| ${title} | \`${r.status}\` | ${r.result === null ? 'null' : `\`${r.result}\``} | ${r.breakdown.attempts.result === null ? 'null' : `\`${r.breakdown.attempts.result}\``} | \`${r.action}\` | \`${r.detail}\` |`;
  }).join('\n')}

\`breakdown.phone_number.result\` is \`clear\` with 2 or fewer distinct changes of destination and \`consider\` with 3
or more; \`result\` is \`consider\` whenever a breakdown is.

When the accepted code was a recovery code (the \`RecoveryCodeValidate\` valve), \`properties\` has two more keys:
\`recovery_codes_left\` (the subject's unused codes after this one) and \`recovery_codes_low\` (true at 2 or fewer,
when \`OTP_200020\` is also logged and the demo's \`/account\` says to make new ones). The \`start\` answer then carries
\`recovery_codes_left\` too: \`{ "status": "COMPLETED", "location": "/account", "recovery_codes_left": 2 }\`.
A step completed by a trusted browser has no transaction; its report is \`{ "status": "approved", "result":
"clear", "action": "PASS", "detail": "TRUSTED DEVICE", "properties": { "device": <id>, "channel": null } }\`.

The examples below are the answers of the real API in \`test/http/destinations.report.test.ts\` (with a fixed
clock and numbered transaction ids), written here by that test with \`UPDATE_DOCS=1\`; the test fails when this
file and the API disagree.
`;
  const body = items.map(({ title, report }) => `## ${title}\n\n\`\`\`json\n${JSON.stringify(report, null, 2)}\n\`\`\`\n`).join('\n');
  return `${head}\n${body}`;
}
