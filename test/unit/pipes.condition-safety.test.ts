import assert from 'node:assert/strict';
import { registerValve } from '../../src/pipes/valve-registry.js';
import { buildPipe, PipeBuildError } from '../../src/pipes/pipe.js';
import { checkCondition, compileCondition, ConditionError } from '../../src/pipes/condition.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { ValveDeps } from '../../src/pipes/types.js';

const deps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => 0, production: false };

let sideEffects = 0;
registerValve('TestSideEffect', () => ({
  run() {
    sideEffects++;
  },
}));

const escapes: Array<[string, RegExp]> = [
  ['process.exit(1)', /process/],
  ["process.env.OTP_SECRET != ''", /process/],
  ['state.constructor', /constructor/],
  ["exports['constructor']", /constructor/],
  ['state.__proto__', /__proto__/],
  ['{__proto__: state}', /__proto__/],
  ['items.prototype', /prototype/],
  ['globalThis.process', /globalThis|process/],
  ['global', /global/],
  ['state|constructor', /constructor/],
  ['state.__defineGetter__', /__defineGetter__/],
];

describe('exec_if safety', () => {
  beforeEach(() => {
    sideEffects = 0;
  });

  for (const [expr, word] of escapes) {
    it(`refuses ${expr} when the pipe is built, and nothing runs`, async () => {
      assert.match(checkCondition(expr) ?? 'accepted', word);
      assert.throws(() => compileCondition(expr), ConditionError);
      let pipe;
      try {
        pipe = buildPipe({ id: 'p', valves: [{ name: 'TestSideEffect', exec_if: expr }, { name: 'TestSideEffect' }] }, deps);
      } catch (error) {
        assert.ok(error instanceof PipeBuildError);
        assert.equal(error.problems[0]?.path, '/valves/0/exec_if');
      }
      assert.equal(pipe, undefined, 'the pipe must not be built');
      assert.equal(sideEffects, 0);
    });
  }

  it('refuses computed keys, which could spell any property name at run time', () => {
    assert.match(checkCondition("state['con' + 'structor']") ?? 'accepted', /must be a literal/);
    assert.match(checkCondition('exports[state.key]') ?? 'accepted', /must be a literal/);
  });

  it('refuses functions and transforms it does not define, and unknown roots', () => {
    assert.match(checkCondition('state.x|keys') ?? 'accepted', /unknown function "keys"/);
    assert.match(checkCondition('now()') ?? 'accepted', /unknown function "now"/);
    assert.match(checkCondition('exprts.username') ?? 'accepted', /unknown name "exprts"/);
  });

  it('refuses syntax errors and non-strings', () => {
    assert.match(checkCondition('state.a ==') ?? 'accepted', /does not parse/);
    assert.equal(checkCondition(42), 'exec_if must be a string');
    assert.equal(checkCondition('   '), 'exec_if is empty');
  });

  it('accepts ordinary conditions', () => {
    for (const expr of [
      "exports.country == 'SE'",
      'state.destination.line_type in ["mobile", "voip"]',
      "items[.kind == 'sms'].length > 0",
      'exports["mobile"]|startsWith("+46")',
      '!state.delivered && request.language == "sv"',
      'items[0] == 1',
    ]) {
      assert.equal(checkCondition(expr), null, expr);
    }
  });

  it('evaluates over a copy: a condition cannot change the flow', async () => {
    const ctx = createFlowContext({ state: { list: [1, 2] } });
    const outcome = await compileCondition('state.list[0] == 1').test(ctx);
    assert.deepEqual(outcome, { ok: true, value: true });
    assert.deepEqual(ctx.state, { list: [1, 2] });
  });

  it('refuses the names of Object.prototype members (toString, valueOf, hasOwnProperty)', () => {
    for (const expr of ['state.a.toString', 'state.valueOf', 'exports.hasOwnProperty']) {
      assert.notEqual(checkCondition(expr), null, expr);
    }
  });
});
