import assert from 'node:assert/strict';
import { redactDestinations, redactSecrets } from '../../src/events/redact.js';

describe('operational log redaction (src/events/redact.ts)', () => {
  it('masks e-mail addresses as the events do', () => {
    assert.equal(redactDestinations('550 5.1.1 <alice.liddell@example.com>: Recipient address rejected'), '550 5.1.1 <a***@example.com>: Recipient address rejected');
    assert.equal(redactDestinations('to bob+otp@mail.example.co.uk, cc x@y.se'), 'to b***@mail.example.co.uk, cc x***@y.se');
  });

  it('masks international numbers, written whole or in groups, as the events do', () => {
    assert.equal(redactDestinations('refused +46701234567.'), 'refused +46 70*** **67.');
    assert.equal(redactDestinations('refused +46 70-123 45 67 today'), 'refused +46 70*** **67 today');
    assert.equal(redactDestinations('to=+1 (415) 555-2671'), 'to=+1 41**** **71');
  });

  it('masks a number written without its plus (9 to 15 digits in a row), keeping the last two', () => {
    assert.equal(redactDestinations('GET /send?to=46701234567&text=hi'), 'GET /send?to=*********67&text=hi');
    assert.equal(redactDestinations('national 0701234567'), 'national ********67');
  });

  it('leaves what an operator needs to read: addresses of servers, ports, times, short numbers, ids', () => {
    for (const text of [
      'redis store: connection to redis://10.0.12.200:6379 lost (connect ECONNREFUSED 127.0.0.1:6379)',
      'listening on http://localhost:3000/',
      'at 2026-11-22T08:05:28.486Z, status 503, after 3 attempts in 1500 ms',
      'transaction 6f1c2a9e-58b4-4c55-9a0e-2b9f5c7d1e34 expired',
      'code length 6, retry after 30 s',
    ]) assert.equal(redactDestinations(text), text);
  });

  it('replaces exact secrets wherever they occur: destinations masked, anything else [redacted]', () => {
    const secrets = ['918770', '+46701234567', '070-123 45 67', 'alice@example.com'];
    assert.equal(
      redactSecrets('code 918770 to +46701234567 (typed 070-123 45 67) or alice@example.com; again 918770', secrets),
      'code [redacted] to +46 70*** **67 (typed [redacted]) or a***@example.com; again [redacted]',
    );
  });

  it('replaces the longer of two overlapping secrets whole, and ignores values too short to mean anything', () => {
    assert.equal(redactSecrets('+46701234567', ['0123', '+46701234567']), '+46 70*** **67');
    assert.equal(redactSecrets('pipe p, valve v: 12 ab', ['12', 'ab', '']), 'pipe p, valve v: 12 ab');
  });
});
