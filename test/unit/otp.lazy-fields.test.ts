import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { lazyDescriptors, withLazyFields } from '../../src/otp/lazy-fields.js';

// V8's own view of an object's shape; the flag only lets this file ask (it changes nothing else).
v8.setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

describe('lazy fields of the request views', () => {
  const reads: string[] = [];
  const FIELDS = lazyDescriptors<{ host: string }>({
    host: (c) => { reads.push('host'); return c.host; },
    protocol: () => { reads.push('protocol'); return 'https'; },
  });
  const make = (host: string) => withLazyFields({ ip: '127.0.0.1' }, { host }, FIELDS) as Record<string, unknown>;

  beforeEach(() => { reads.length = 0; });

  it('are worked out on first read only, once, and each object from its own context', () => {
    const a = make('a.example');
    const b = make('b.example');
    assert.deepEqual(reads, [], 'nothing is read while the object is made');
    assert.equal(a.host, 'a.example');
    assert.equal(a.host, 'a.example');
    assert.equal(b.host, 'b.example');
    assert.deepEqual(reads, ['host', 'host']);
  });

  it('are own, enumerable and writable: spread, JSON and own-property reads see them, and not the hidden state', () => {
    const view = make('a.example');
    assert.deepEqual(Object.keys(view), ['ip', 'host', 'protocol']);
    assert.equal(Object.prototype.hasOwnProperty.call(view, 'host'), true);
    assert.deepEqual({ ...view }, { ip: '127.0.0.1', host: 'a.example', protocol: 'https' });
    assert.equal(JSON.stringify(view), '{"ip":"127.0.0.1","host":"a.example","protocol":"https"}');
    view.host = 'changed.example';
    assert.equal(view.host, 'changed.example', 'a valve may change its copy');
    assert.equal(make('c.example').host, 'c.example', 'and only its own');
  });

  it('leave the object a fast one with a shared shape, where a literal with getters is a slow one (bench/README.md, F1b)', () => {
    assert.equal(hasFastProperties(make('a.example')), true);
    const literal = (host: string) => ({ ip: '127.0.0.1', get host() { return host; } });
    assert.equal(hasFastProperties(literal('a.example')), false, 'the control: what the views were before');
  });
});
