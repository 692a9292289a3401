import assert from 'node:assert/strict';
import v8 from 'node:v8';
import type { Request } from 'express';
import { otpRequest } from '../../src/otp/otp-request.js';
import type { OtpAuthenticatorConfig } from '../../src/config/types.js';

// What flows and expressions see of the request (src/otp/otp-request.ts): the address read at once, host and
// protocol only when asked (Express's proxy-trust logic), the path as the browser asked for it, and each flow its
// own copy that a valve may change.
function fakeRequest(reads: string[]): Request {
  const req = {
    method: 'POST',
    originalUrl: '/sso/authn/otp?lng=sv',
    url: '/',
    sessionID: 'sid-1',
    session: { authn: { trace_id: 'trace-1', exports: { username: 'alice' }, completed: [], counters: {} } },
    get ip() { reads.push('ip'); return '203.0.113.9'; },
    get hostname() { reads.push('hostname'); return 'login.example'; },
    get protocol() { reads.push('protocol'); return 'https'; },
  };
  return req as unknown as Request;
}

const config = { subject: '${exports.username}', code: { length: 6, charset: 'numeric' } } as unknown as OtpAuthenticatorConfig;

describe('OTP request view', () => {
  it('reads the address at once and host and protocol only when something reads them', () => {
    const reads: string[] = [];
    const r = otpRequest(fakeRequest(reads), 'otp', config)!;
    assert.deepEqual(reads, ['ip']);
    const flow = r.flow({});
    assert.equal(flow.request.ip, '203.0.113.9');
    assert.deepEqual(reads, ['ip'], 'a flow made is not a flow that reads the host');
    assert.equal(flow.request.host, 'login.example');
    assert.equal(flow.request.protocol, 'https');
    assert.deepEqual(reads, ['ip', 'hostname', 'protocol']);
    assert.equal(flow.request.path, '/sso/authn/otp', 'the whole path, without the query');
    assert.equal(r.expand('${request.ip} ${request.path}'), '203.0.113.9 /sso/authn/otp');
  });

  it('gives each flow its own view, which a valve may change', () => {
    const r = otpRequest(fakeRequest([]), 'otp', config)!;
    const first = r.flow({});
    const second = r.flow({});
    (first.request as { host: string }).host = 'changed.example';
    (first.request as { path: string }).path = '/other';
    assert.equal(first.request.host, 'changed.example');
    assert.equal(first.request.path, '/other');
    assert.equal(second.request.host, 'login.example');
    assert.equal(second.request.path, '/sso/authn/otp');
  });

  it('a flow\'s session is a copy of the session made on first read; a valve may replace it', () => {
    const r = otpRequest(fakeRequest([]), 'otp', config)!;
    const flow = r.flow({});
    assert.deepEqual(flow.session, { authn: { trace_id: 'trace-1', exports: { username: 'alice' }, completed: [], counters: {} } });
    assert.equal(r.expand('${session.authn.trace_id}'), 'trace-1');
    flow.session = { replaced: true };
    assert.deepEqual(flow.session, { replaced: true });
    assert.deepEqual(Object.keys(flow).sort(), ['authenticator', 'exports', 'id', 'items', 'request', 'session', 'state']);
  });

  it('flows and their request views are fast objects (no per-request getter closures: bench/README.md, F1b)', () => {
    v8.setFlagsFromString('--allow-natives-syntax');
    const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
    const flow = otpRequest(fakeRequest([]), 'otp', config)!.flow({});
    assert.equal(hasFastProperties(flow), true);
    assert.equal(hasFastProperties(flow.request), true);
  });
});
