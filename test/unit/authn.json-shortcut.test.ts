import assert from 'node:assert/strict';
import type { Request, Response } from 'express';
import { jsonShortcut } from '../../src/authn/json-shortcut.js';

// Which requests the shortcut takes (src/authn/json-shortcut.ts): a JSON POST/PUT to an authenticator's exact path,
// unless a route mounted before that path would have answered it through the router.
describe('JSON API shortcut: which requests it takes', () => {
  const taken: string[] = [];
  const handler = (name: string) => async (req: Request) => { taken.push(`${name} ${req.method} ${req.path}`); };
  const noHeaders = (_req: unknown, _res: unknown, next: () => void) => next();
  const onError = () => { throw new Error('no error expected'); };

  function offer(s: ReturnType<typeof jsonShortcut>, method: string, path: string, type = 'application/json'): 'handled' | 'router' {
    let passed = false;
    const is = (types: string | string[]) => [types].flat().find((t) => t === type.split(';')[0]) ?? false;
    s.middleware({ method, path, url: path, headers: { 'content-type': type }, is } as unknown as Request, {} as Response, () => { passed = true; });
    return passed ? 'router' : 'handled';
  }

  beforeEach(() => { taken.length = 0; });

  it('a JSON POST or PUT to the exact path; not a GET, a form, another path or spelling', () => {
    const s = jsonShortcut(noHeaders, onError, () => undefined);
    s.add('/authn/otp', handler('otp'), []);
    assert.equal(offer(s, 'POST', '/authn/otp'), 'handled');
    assert.equal(offer(s, 'PUT', '/authn/otp', 'application/json; charset=utf-8'), 'handled');
    assert.equal(offer(s, 'GET', '/authn/otp'), 'router');
    assert.equal(offer(s, 'POST', '/authn/otp', 'application/x-www-form-urlencoded'), 'router');
    assert.equal(offer(s, 'POST', '/authn/otp/'), 'router');
    assert.equal(offer(s, 'POST', '/AUTHN/OTP'), 'router');
    assert.equal(offer(s, 'POST', '/authn/other'), 'router');
    assert.equal(offer(s, 'POST', '/authn/otp?lng=sv'), 'router', 'a query string may set the language cookie: the router does that');
    assert.deepEqual(taken, ['otp POST /authn/otp', 'otp PUT /authn/otp']);
  });

  it('steps aside for a path an earlier mount covers (Express matches mounts by prefix, ignoring case)', () => {
    const s = jsonShortcut(noHeaders, onError, () => undefined);
    s.add('/authn/otp', handler('otp'), ['/_authn', '/AUTHN']);
    s.add('/authn/otp2', handler('otp2'), ['/authn/otp']);
    s.add('/x/login', handler('login'), ['/x/login/']);
    assert.equal(offer(s, 'POST', '/authn/otp'), 'router', 'under an earlier /AUTHN mount');
    assert.equal(offer(s, 'POST', '/authn/otp2'), 'handled', '/authn/otp is not a path prefix of /authn/otp2');
    assert.equal(offer(s, 'POST', '/x/login'), 'router', 'the same path mounted before');
  });

  it('a failing handler goes to the error handler with the request', async () => {
    let seen: unknown = null;
    const s = jsonShortcut(noHeaders, (error) => { seen = error; }, () => undefined);
    s.add('/authn/otp', async () => { throw new Error('boom'); }, []);
    offer(s, 'POST', '/authn/otp');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((seen as Error | null)?.message, 'boom');
  });
});
