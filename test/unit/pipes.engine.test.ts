import assert from 'node:assert/strict';
import { registerValve } from '../../src/pipes/valve-registry.js';
import { buildPipe, buildPipes, checkPipeDefinition, PipeBuildError } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { FlowContext, ValveDeps } from '../../src/pipes/types.js';

const reported: Array<{ reason: string; valve: string; error: unknown; secrets: readonly string[] }> = [];
const deps: ValveDeps = {
  otpKeys: ['k1'],
  configDir: '.',
  now: () => 1_700_000_000_000,
  production: false,
  reportError: (error, where) => reported.push({ reason: where.reason, valve: where.valve, error, secrets: where.secrets ?? [] }),
};

/** Appends its `tag` to state.trail so a test can see which valves ran, in which order. */
registerValve<{ tag: string }>(
  'TestTrail',
  (config) => ({
    run(ctx) {
      const trail = (ctx.state['trail'] as string[] | undefined) ?? [];
      ctx.state['trail'] = [...trail, config.tag];
    },
  }),
  { configSchema: { type: 'object', additionalProperties: false, required: ['tag'], properties: { tag: { type: 'string' } } } },
);
registerValve('TestRefuse', () => ({ run: () => ({ fail: { reason: 'TEST REFUSED', message: 'no' } }) }));
registerValve('TestThrow', () => ({
  run() {
    throw new Error('secret internal detail at /srv/db');
  },
}));
registerValve('TestHang', () => ({ run: () => new Promise<void>(() => undefined) }));
registerValve('TestRejectLater', () => ({ run: async () => { await new Promise((r) => setTimeout(r, 5)); throw new Error('later'); } }));
registerValve('TestRefuseLater', () => ({ run: async () => { await new Promise((r) => setTimeout(r, 5)); return { fail: { reason: 'TEST REFUSED LATER' } }; } }));
registerValve('TestOdd', () => ({ run: () => ({ something: 'else' }) as never }));
/** Records the config it was built with, to show per-run expansion. */
registerValve<{ amount: number; label: string }>(
  'TestEcho',
  (config) => ({
    run(ctx) {
      ctx.state['echo'] = config;
    },
  }),
  {
    configSchema: {
      type: 'object',
      additionalProperties: false,
      properties: { amount: { type: 'integer' }, label: { type: 'string' } },
    },
  },
);

function trail(ctx: FlowContext): unknown {
  return ctx.state['trail'];
}

describe('pipe engine', () => {
  beforeEach(() => {
    reported.length = 0;
  });

  it('runs valves in order and passes', async () => {
    const pipe = buildPipe(
      { id: 'p', valves: [{ name: 'TestTrail', config: { tag: 'a' } }, { name: 'TestTrail', config: { tag: 'b' } }] },
      deps,
    );
    const ctx = createFlowContext();
    assert.deepEqual(await pipe.run(ctx), { ok: true });
    assert.deepEqual(trail(ctx), ['a', 'b']);
    assert.deepEqual(pipe.valveNames, ['TestTrail', 'TestTrail']);
  });

  it('stops at the first failing valve and names it', async () => {
    const pipe = buildPipe(
      {
        id: 'p',
        valves: [{ name: 'TestTrail', config: { tag: 'a' } }, { name: 'TestRefuse' }, { name: 'TestTrail', config: { tag: 'c' } }],
      },
      deps,
    );
    const ctx = createFlowContext();
    assert.deepEqual(await pipe.run(ctx), { ok: false, failure: { reason: 'TEST REFUSED', message: 'no', valve: 'TestRefuse' } });
    assert.deepEqual(trail(ctx), ['a']);
  });

  it('fails a hanging valve with VALVE TIMEOUT after its timeout_ms', async () => {
    const pipe = buildPipe({ id: 'p', valves: [{ name: 'TestHang', timeout_ms: 50 }, { name: 'TestTrail', config: { tag: 'x' } }] }, deps);
    const ctx = createFlowContext();
    const started = Date.now();
    const result = await pipe.run(ctx);
    const took = Date.now() - started;
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.failure.reason, 'VALVE TIMEOUT');
    assert.equal(!result.ok && result.failure.valve, 'TestHang');
    assert.ok(took >= 45 && took < 2000, `took ${took} ms`);
    assert.equal(trail(ctx), undefined);
    assert.equal(reported[0]?.reason, 'VALVE TIMEOUT');
  });

  it('fails a throwing valve with VALVE ERROR without leaking its message', async () => {
    const pipe = buildPipe({ id: 'p', valves: [{ name: 'TestThrow' }] }, deps);
    const result = await pipe.run(createFlowContext());
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.failure.reason, 'VALVE ERROR');
    assert.equal(result.failure.valve, 'TestThrow');
    assert.ok(!JSON.stringify(result).includes('secret'), JSON.stringify(result));
    // The host still learns the real error.
    assert.match(String((reported[0]?.error as Error).message), /secret internal detail/);
  });

  it('tells the host what the flow held that a log must not carry: the code, the code entered, the destination', async () => {
    const pipe = buildPipe({ id: 'p', valves: [{ name: 'TestThrow' }] }, deps);
    await pipe.run(createFlowContext({ state: {
      destination_input: '070-123 45 67',
      destination: { kind: 'phone', address: '+46701234567', channel: 'sms' },
      code: { value: '918770', hash: 'h1.x' },
      otp: '424242',
      transaction_id: 'tx-1',
    } }));
    assert.deepEqual([...(reported[0]?.secrets ?? [])].sort(), ['+46701234567', '070-123 45 67', '424242', '918770']);
  });

  it('a valve that answers later is awaited like one that answers at once: its refusal, or its rejection as VALVE ERROR', async () => {
    const refused = await buildPipe({ id: 'p', valves: [{ name: 'TestRefuseLater' }, { name: 'TestTrail', config: { tag: 'x' } }] }, deps).run(createFlowContext());
    assert.equal(!refused.ok && refused.failure.reason, 'TEST REFUSED LATER');
    const rejected = await buildPipe({ id: 'p', valves: [{ name: 'TestRejectLater' }] }, deps).run(createFlowContext());
    assert.equal(!rejected.ok && rejected.failure.reason, 'VALVE ERROR');
  });

  it('treats a result that is neither nothing nor { fail } as VALVE ERROR', async () => {
    const result = await buildPipe({ id: 'p', valves: [{ name: 'TestOdd' }] }, deps).run(createFlowContext());
    assert.equal(!result.ok && result.failure.reason, 'VALVE ERROR');
  });

  it('skips a valve with enabled: false', async () => {
    const pipe = buildPipe(
      { id: 'p', valves: [{ name: 'TestRefuse', enabled: false }, { name: 'TestTrail', config: { tag: 'ran' } }] },
      deps,
    );
    const ctx = createFlowContext();
    assert.deepEqual(await pipe.run(ctx), { ok: true });
    assert.deepEqual(trail(ctx), ['ran']);
  });

  it('runs a valve whose exec_if is true and skips one whose exec_if is false', async () => {
    const pipe = buildPipe(
      {
        id: 'p',
        valves: [
          { name: 'TestTrail', exec_if: "exports.country == 'SE'", config: { tag: 'se' } },
          { name: 'TestTrail', exec_if: "exports.country == 'GB'", config: { tag: 'gb' } },
          { name: 'TestTrail', exec_if: "exports.mobile|startsWith('+46') && state.count > 1", config: { tag: 'both' } },
        ],
      },
      deps,
    );
    const ctx = createFlowContext({ exports: { country: 'SE', mobile: '+46701234567' }, state: { count: 2 } });
    assert.deepEqual(await pipe.run(ctx), { ok: true });
    assert.deepEqual(trail(ctx), ['se', 'both']);
  });

  it('sees state written by an earlier valve in a later exec_if', async () => {
    const pipe = buildPipe(
      {
        id: 'p',
        valves: [
          { name: 'TestTrail', config: { tag: 'first' } },
          { name: 'TestRefuse', exec_if: "'first' in state.trail" },
        ],
      },
      deps,
    );
    const result = await pipe.run(createFlowContext());
    assert.equal(!result.ok && result.failure.reason, 'TEST REFUSED');
  });

  it('fails with CONDITION ERROR (not a throw) when a condition breaks at run time', async () => {
    // Conditions see null-prototype copies, which cannot be converted to a primitive.
    const pipe = buildPipe({ id: 'p', valves: [{ name: 'TestTrail', exec_if: 'state + 1 > 0', config: { tag: 'no' } }] }, deps);
    const ctx = createFlowContext();
    const result = await pipe.run(ctx);
    assert.deepEqual(result, {
      ok: false,
      failure: { reason: 'CONDITION ERROR', message: 'exec_if could not be evaluated', valve: 'TestTrail' },
    });
    assert.equal(trail(ctx), undefined);
  });

  it('expands a valve config against the flow on every run', async () => {
    const pipe = buildPipe(
      { id: 'p', valves: [{ name: 'TestEcho', config: { amount: '${exports.amount}', label: 'n=${exports.amount}' } }] },
      deps,
    );
    const one = createFlowContext({ exports: { amount: 5 } });
    const two = createFlowContext({ exports: { amount: 7 } });
    await pipe.run(one);
    await pipe.run(two);
    assert.deepEqual(one.state['echo'], { amount: 5, label: 'n=5' });
    assert.deepEqual(two.state['echo'], { amount: 7, label: 'n=7' });
  });

  it('fails with VALVE ERROR when the expanded config does not fit the schema', async () => {
    const pipe = buildPipe({ id: 'p', valves: [{ name: 'TestEcho', config: { amount: '${exports.amount}' } }] }, deps);
    const result = await pipe.run(createFlowContext({ exports: { amount: 'lots' } }));
    assert.equal(!result.ok && result.failure.reason, 'VALVE ERROR');
    assert.match((!result.ok && result.failure.message) || '', /\/amount expected integer, found string "lots"/);
  });
});

describe('pipe building', () => {
  it('refuses an unknown valve, a bad config and a bad timeout, naming each path', () => {
    const problems = checkPipeDefinition({
      id: 'p',
      valves: [
        { name: 'NoSuchValve' },
        { name: 'TestTrail', config: { tag: 1, extra: true } },
        { name: 'TestTrail', config: { tag: 'ok' }, timeout_ms: 0 },
        { name: 'TestEcho', config: { label: '${nowhere.x}' } },
      ],
    });
    const paths = problems.map((p) => p.path);
    assert.deepEqual(paths.sort(), [
      '/valves/0/name',
      '/valves/1/config/extra',
      '/valves/1/config/tag',
      '/valves/2/timeout_ms',
      '/valves/3/config/label',
    ]);
    assert.throws(() => buildPipe({ id: 'p', valves: [{ name: 'NoSuchValve' }] }, deps), PipeBuildError);
  });

  it('lets a reference stand where the schema wants another type until it is expanded', () => {
    assert.deepEqual(checkPipeDefinition({ id: 'p', valves: [{ name: 'TestEcho', config: { amount: '${exports.n}' } }] }), []);
  });

  it('builds several pipes by id and refuses a duplicate id', () => {
    const pipes = buildPipes(
      [
        { id: 'a', valves: [] },
        { id: 'b', valves: [{ name: 'TestRefuse' }] },
      ],
      deps,
    );
    assert.deepEqual([...pipes.keys()], ['a', 'b']);
    assert.throws(
      () => buildPipes([{ id: 'a', valves: [] }, { id: 'a', valves: [] }], deps),
      /duplicate pipe id "a"/,
    );
  });
});
