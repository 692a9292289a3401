import assert from 'node:assert/strict';
import { checkExpansions, expandString, expandValue, resolveReference } from '../../src/pipes/expand.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';

const ctx = createFlowContext({
  request: { ip: '203.0.113.9', language: 'sv' },
  session: { tries: 2 },
  exports: { username: 'alice', profile: { fn: 'Alice', phones: ['+46701234567'] }, zero: 0, nothing: null },
  state: { transaction_id: 't-1' },
  items: ['first', { kind: 'sms' }],
});

describe('${...} expansion', () => {
  it('yields the raw value for a string that is exactly one reference', () => {
    assert.equal(expandString('${session.tries}', ctx), 2);
    assert.deepEqual(expandString('${exports.profile}', ctx), { fn: 'Alice', phones: ['+46701234567'] });
    assert.equal(expandString('${exports.zero}', ctx), 0);
    assert.equal(expandString('${items.0}', ctx), 'first');
    assert.equal(expandString('${items.1.kind}', ctx), 'sms');
    assert.equal(expandString('${exports.profile.phones.0}', ctx), '+46701234567');
  });

  it('hands out a copy, so a valve cannot change exports through it', () => {
    const profile = expandString('${exports.profile}', ctx) as { fn: string };
    profile.fn = 'Mallory';
    assert.equal((ctx.exports['profile'] as { fn: string }).fn, 'Alice');
  });

  it('interpolates references inside a longer string', () => {
    assert.equal(expandString('user ${exports.username} from ${request.ip}', ctx), 'user alice from 203.0.113.9');
    assert.equal(expandString('n=${session.tries}; p=${exports.profile.phones}', ctx), 'n=2; p=["+46701234567"]');
    assert.equal(expandString('tx ${ state.transaction_id }', ctx), 'tx t-1');
  });

  it('gives undefined for a missing whole value and the empty string inside text', () => {
    assert.equal(expandString('${exports.missing}', ctx), undefined);
    assert.equal(expandString('${exports.username.deeper}', ctx), undefined);
    assert.equal(expandString('${items.7}', ctx), undefined);
    assert.equal(expandString('[${exports.missing}][${exports.nothing}]', ctx), '[][]');
    assert.equal(expandString('${exports.nothing}', ctx), null);
  });

  it('reads own properties only, and refuses prototype paths', () => {
    assert.equal(resolveReference(ctx, 'exports.toString'), undefined);
    assert.equal(resolveReference(ctx, 'exports.constructor'), undefined);
    assert.equal(resolveReference(ctx, 'exports.__proto__'), undefined);
    assert.equal(resolveReference(ctx, 'items.length'), undefined);
    assert.deepEqual(
      checkExpansions({ a: '${exports.constructor.name}', b: ['${state.__proto__}'], c: 'x ${exports.prototype} y' }).map((p) => p.path),
      ['/a', '/b/0', '/c'],
    );
  });

  it('refuses unknown roots at build time (env and globals belong to the config loader)', () => {
    const problems = checkExpansions({ x: '${env.SECRET}', y: '${globals.app_name}', z: '${exports.ok}' });
    assert.deepEqual(problems.map((p) => p.path), ['/x', '/y']);
    assert.match(problems[0]?.message ?? '', /unknown root "env"/);
  });

  it('expands whole config objects, deep, leaving keys and non-strings alone', () => {
    const config = {
      to: '${exports.profile.phones.0}',
      headers: { 'X-User': '${exports.username}', '${exports.username}': 1 },
      list: ['${session.tries}', true, 3, null],
    };
    assert.deepEqual(expandValue(config, ctx), {
      to: '+46701234567',
      headers: { 'X-User': 'alice', '${exports.username}': 1 },
      list: [2, true, 3, null],
    });
    assert.equal(config.to, '${exports.profile.phones.0}', 'the definition itself is not changed');
  });

  it('does not let a "__proto__" key in config reach a prototype', () => {
    const config = JSON.parse('{"__proto__": {"polluted": true}, "a": "${exports.username}"}') as Record<string, unknown>;
    const out = expandValue(config, ctx) as Record<string, unknown>;
    assert.deepEqual(out, { a: 'alice' });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });
});
