import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import { outboxFile } from '../../src/valves/outbox.js';
import type { ValveDeps } from '../../src/pipes/types.js';

const deps: ValveDeps = { otpKeys: ['k'], configDir: '.', now: () => Date.parse('2024-05-01T10:00:00.000Z'), production: false };

describe('Outbox', () => {
  let dir: string;
  let savedEnv: string | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-test-'));
    savedEnv = process.env['OUTBOX_FILE'];
    delete process.env['OUTBOX_FILE'];
  });
  afterEach(async () => {
    if (savedEnv === undefined) delete process.env['OUTBOX_FILE'];
    else process.env['OUTBOX_FILE'] = savedEnv;
    await rm(dir, { recursive: true, force: true });
  });

  function flow() {
    return createFlowContext({
      authenticator: { id: 'otp', type: 'OTP', app_name: 'Demo SSO', code: { length: 6, charset: 'numeric', ttl_seconds: 300 } },
      state: {
        destination: { kind: 'phone', address: '+46701234567', channel: 'sms', country: 'SE', line_type: 'mobile' },
        code: { value: '123456', hash: 'h1.x' },
      },
    });
  }

  it('appends one JSON line per message in a folder it creates, prints one line, and records the delivery', async () => {
    const file = path.join(dir, 'nested', 'outbox.jsonl');
    const pipe = buildPipe({ id: 'o', valves: [{ name: 'Outbox', config: { file } }] }, deps);
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    const ctx = flow();
    let result;
    try {
      result = await pipe.run(ctx);
      await pipe.run(flow());
    } finally {
      process.stdout.write = write;
    }
    assert.deepEqual(result, { ok: true });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      channel: 'sms',
      to: '+46701234567',
      text: '123456 is your Demo SSO code. It expires in 5 minutes.',
      sent_at: '2024-05-01T10:00:00.000Z',
    });
    assert.deepEqual(printed, [
      '[outbox] sms to +46701234567: 123456 is your Demo SSO code. It expires in 5 minutes.\n',
      '[outbox] sms to +46701234567: 123456 is your Demo SSO code. It expires in 5 minutes.\n',
    ]);
    assert.deepEqual(ctx.state.delivered, { channel: 'sms', to: '+46701234567', at: Date.parse('2024-05-01T10:00:00.000Z') });
  });

  it('uses a configured template, and OUTBOX_FILE over the configured file', async () => {
    const envFile = path.join(dir, 'from-env.jsonl');
    process.env['OUTBOX_FILE'] = envFile;
    const pipe = buildPipe(
      {
        id: 'o',
        valves: [{ name: 'Outbox', config: { file: path.join(dir, 'ignored.jsonl'), print: false, template: 'Hej {{fn}}! Kod {{code}} ({{minutes}} min, {{app}}){{nope}}' } }],
      },
      deps,
    );
    const ctx = flow();
    ctx.exports['fn'] = 'Alice';
    assert.deepEqual(await pipe.run(ctx), { ok: true });
    const line = JSON.parse((await readFile(envFile, 'utf8')).trim()) as { text: string };
    assert.equal(line.text, 'Hej Alice! Kod 123456 (5 min, Demo SSO)');
    assert.equal(outboxFile(undefined, {}), path.resolve(process.cwd(), 'var/outbox.jsonl'));
  });

  it('fails VALVE ERROR without a destination or a code, and writes nothing', async () => {
    const file = path.join(dir, 'outbox.jsonl');
    const pipe = buildPipe({ id: 'o', valves: [{ name: 'Outbox', config: { file, print: false } }] }, deps);
    const ctx = flow();
    delete ctx.state.code;
    const result = await pipe.run(ctx);
    assert.equal(!result.ok && result.failure.reason, 'VALVE ERROR');
    await assert.rejects(readFile(file, 'utf8'), { code: 'ENOENT' });
  });

  it('refuses to be built in production', () => {
    assert.throws(() => buildPipe({ id: 'o', valves: [{ name: 'Outbox' }] }, { ...deps, production: true }), /refused with NODE_ENV=production/);
  });
});
