import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EVENTS, type EventRecord } from '../../src/events/catalogue.js';
import { escapeCefHeader, escapeCefValue, formatCef, formatJson } from '../../src/events/format.js';

const product = { vendor: 'acme', product: 'otp', version: '1.0' };

function event(fields: Partial<EventRecord>): EventRecord {
  return { event_id: 'WEB_100020', name: 'OTP validation failed', timestamp: '2026-11-22T00:00:00.000Z', IDENTIFIER: 'trace-1', ...fields } as EventRecord;
}

describe('events: CEF and JSON formats escape user input', () => {
  it('CEF header escapes | and \\ and turns newlines into spaces', () => {
    assert.equal(escapeCefHeader('a|b\\c\nd'), 'a\\|b\\\\c d');
  });

  it('CEF extension values escape =, \\, and newlines as \\n and \\r', () => {
    assert.equal(escapeCefValue('a=b\\c\nd\re'), 'a\\=b\\\\c\\nd\\re');
  });

  it('a username cannot forge an extension field or a second record', () => {
    const line = formatCef(event({ CUSTOMER_IDENTIFIER: 'eve src=10.0.0.1\nCEF:0|x|y|z|WEB_100019|OTP validated|1|', SOURCE_ADDRESS: '127.0.0.1' }), product);
    assert.equal(line.split('\n').length, 1);
    assert.match(line, /^CEF:0\|acme\|otp\|1\.0\|WEB_100020\|OTP validation failed\|5\|/);
    assert.match(line, / suser=eve src\\=10\.0\.0\.1\\nCEF:0\|x/);
    // Exactly one real src= field: the client address.
    assert.equal(line.match(/(?<!\\) src=/g)?.length, 1);
    assert.match(line, / src=127\.0\.0\.1/);
  });

  it('CEF maps the trace id to traceID and keeps event-specific fields', () => {
    const line = formatCef(event({ attempt: 2, attempts_left: 1, aborted: false }), product);
    assert.match(line, /traceID=trace-1/);
    assert.match(line, /attempt=2 attempts_left=1 aborted=false/);
  });

  it('a pipe in a vendor name is escaped in the header', () => {
    assert.match(formatCef(event({}), { ...product, vendor: 'a|b' }), /^CEF:0\|a\\\|b\|otp/);
  });

  it('JSON lines stay one line whatever the input holds', () => {
    const line = formatJson(event({ CUSTOMER_IDENTIFIER: 'eve"\n\u2028}' }));
    assert.equal(line.split(/\n|\u2028/).length, 1);
    assert.equal((JSON.parse(line) as { CUSTOMER_IDENTIFIER: string }).CUSTOMER_IDENTIFIER, 'eve"\n\u2028}');
  });

  it('every event id in the catalogue is documented in docs/events.md', () => {
    const doc = readFileSync('docs/events.md', 'utf8');
    for (const [id, spec] of Object.entries(EVENTS)) {
      assert.ok(doc.includes(`\`${id}\``), `${id} is missing from docs/events.md`);
      assert.ok(doc.includes(spec.name), `the name "${spec.name}" of ${id} is missing from docs/events.md`);
    }
  });
});
