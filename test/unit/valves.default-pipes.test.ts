import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../../src/valves/index.js';
import { buildPipes, checkPipeDefinition } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import type { PipeDefinition, ValveDeps } from '../../src/pipes/types.js';

async function loadPipes(): Promise<PipeDefinition[]> {
  const names = (await readdir('pipes')).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join('pipes', n), 'utf8')) as PipeDefinition));
}

describe('the default pipes in pipes/', () => {
  let dir: string;
  let savedEnv: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'default-pipes-'));
    savedEnv = process.env['OUTBOX_FILE'];
    process.env['OUTBOX_FILE'] = path.join(dir, 'outbox.jsonl');
  });
  afterEach(async () => {
    if (savedEnv === undefined) delete process.env['OUTBOX_FILE'];
    else process.env['OUTBOX_FILE'] = savedEnv;
    await rm(dir, { recursive: true, force: true });
  });

  it('are valid and carry the ids the demo config names', async () => {
    const defs = await loadPipes();
    assert.deepEqual(defs.map((d) => d.id).sort(), ['demo-users', 'otp-send', 'otp-send-email', 'otp-validate', 'recovery-validate', 'totp-validate']);
    for (const def of defs) assert.deepEqual(checkPipeDefinition(def), [], def.id);
  });

  it('send a code to alice that the validation pipe then accepts once typed', async () => {
    const deps: ValveDeps = { otpKeys: ['key-1'], configDir: path.resolve('config'), now: () => Date.now(), production: false };
    const pipes = buildPipes(await loadPipes(), deps);
    const authenticator = { id: 'otp', type: 'OTP', app_name: 'Demo SSO', code: { length: 6, charset: 'numeric' as const, ttl_seconds: 600 } };

    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const send = createFlowContext({ authenticator, state: { transaction_id: 'tx-9', destination_input: '070 123 45 67' } });
    let sent;
    try {
      sent = await pipes.get('otp-send')?.run(send);
    } finally {
      process.stdout.write = write;
    }
    assert.deepEqual(sent, { ok: true });
    const line = JSON.parse((await readFile(path.join(dir, 'outbox.jsonl'), 'utf8')).trim()) as { to: string; text: string };
    assert.equal(line.to, '+46701234567');
    const typed = /^(\d{6}) is your Demo SSO code/.exec(line.text)?.[1];
    assert.ok(typed, line.text);

    const check = createFlowContext({
      authenticator,
      state: { transaction_id: 'tx-9', otp: `${typed.slice(0, 3)} ${typed.slice(3)}`, live_codes: [{ id: 'c1', hash: send.state.code?.hash ?? '' }] },
    });
    assert.deepEqual(await pipes.get('otp-validate')?.run(check), { ok: true });
    assert.equal(check.state.matched_code_id, 'c1');
  });

  it('send an e-mail code to carol', async () => {
    const deps: ValveDeps = { otpKeys: ['key-1'], configDir: path.resolve('config'), now: () => 0, production: false };
    const pipes = buildPipes(await loadPipes(), deps);
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const ctx = createFlowContext({ state: { transaction_id: 't', destination_input: 'carol@example.com' } });
    try {
      assert.deepEqual(await pipes.get('otp-send-email')?.run(ctx), { ok: true });
    } finally {
      process.stdout.write = write;
    }
    const line = JSON.parse((await readFile(path.join(dir, 'outbox.jsonl'), 'utf8')).trim()) as Record<string, string>;
    assert.equal(line['channel'], 'email');
    assert.equal(line['to'], 'carol@example.com');
  });
});
