import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERRORS } from '../../src/errors.js';
import { EVENTS } from '../../src/events/catalogue.js';
import { ALICE, ROOT, emittedEventIds, firstGet, harnessPerTest, session, wrongCode } from '../support/otp-api.js';

const errorsDoc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
const eventsDoc = readFileSync(path.join(ROOT, 'docs', 'events.md'), 'utf8');

/** Rows of the first markdown table whose first cell is a back-quoted id: id -> the other cells. */
function tableRows(doc: string, idPattern: RegExp): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const id = /^`([A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (id && idPattern.test(id) && !rows.has(id)) rows.set(id, cells.slice(1));
  }
  return rows;
}

const documentedErrors = tableRows(errorsDoc, /^[A-Z_]+$/);
const documentedEvents = tableRows(eventsDoc, /^(WEB|OTP)_\d{6}$/);

describe('docs/errors.md', () => {
  it('lists every code of src/errors.ts with its HTTP status', () => {
    const codes = Object.keys(ERRORS) as (keyof typeof ERRORS)[];
    assert.ok(codes.length >= 17);
    for (const code of codes) {
      const row = documentedErrors.get(code);
      assert.ok(row, `${code} is not in docs/errors.md`);
      assert.equal(row[0], String(ERRORS[code]), `${code}: docs say HTTP ${row[0]}, src/errors.ts ${ERRORS[code]}`);
    }
  });

  it('documents no code that src/errors.ts does not have (codes are never reused)', () => {
    for (const code of documentedErrors.keys()) assert.ok(Object.hasOwn(ERRORS, code), `${code} is documented but not in src/errors.ts`);
  });

  it('documents the 413 and 415 refinements of BAD_REQUEST', () => {
    const row = documentedErrors.get('BAD_REQUEST')!.join(' ');
    assert.match(row, /413/);
    assert.match(row, /415/);
  });
});

describe('docs/events.md', () => {
  const h = harnessPerTest({ resend_cooldown_seconds: 0, destination: { source: '${exports.mobile}', allow_change: true }, rate_limits: { sends_per_destination_per_minute: 2 } });

  it('lists every id of the event catalogue, with its name', () => {
    for (const [id, spec] of Object.entries(EVENTS)) {
      const row = documentedEvents.get(id);
      assert.ok(row, `${id} is not in docs/events.md`);
      assert.equal(row[0], spec.name, `${id}'s name`);
    }
  });

  it('lists every id emitted by a tour of the API (send, resend, change, invalid destination, entries, abort, lock, rate limit, cancel)', async () => {
    const u = await h().user();
    await u.send('resend').expect(200);
    await u.send('resend').expect(429);
    await u.send('change_destination', { destination: '+46709876543' }).expect(200);
    await u.send('change_destination', { destination: 'not a number' }).expect(400);
    const bob = await h().user({ username: 'bob', mobile: '+46701112233' });
    await bob.send('start', { otp: h().codes('+46701112233')[0] }).expect(200);
    await bob.send('start', { otp: '000000' }).expect(409);
    for (let i = 1; i <= 4; i += 1) await u.send('start', { otp: wrongCode(h().codes(), i) }).expect(200);
    await firstGet(await session(h(), ALICE));
    const carol = await h().user({ username: 'carol', mobile: '+46705550011' });
    await carol.send('cancel').expect(200);

    const ids = new Set(h().events.map((e) => e.event_id));
    for (const id of ['OTP_200001', 'OTP_200002', 'OTP_200005', 'OTP_200006', 'OTP_200013', 'WEB_100019', 'WEB_100020', 'OTP_200007', 'OTP_200008', 'OTP_200009', 'OTP_200011', 'OTP_200012']) {
      assert.ok(ids.has(id as never), `the tour should emit ${id}; it emitted ${[...ids].join(', ')}`);
    }
    for (const e of h().events) {
      const row = documentedEvents.get(e.event_id);
      assert.ok(row, `${e.event_id} was emitted but is not in docs/events.md`);
      assert.equal(row[0], e.name, `${e.event_id}'s name as emitted`);
    }
  });
});

// A root hook: once every suite of this run has finished, every event id emitted anywhere in it must be documented.
after('every event id emitted during the run is in docs/events.md', () => {
  const missing = [...emittedEventIds].filter((id) => !documentedEvents.has(id));
  assert.deepEqual(missing, [], `emitted but not in docs/events.md: ${missing.join(', ')}`);
});
