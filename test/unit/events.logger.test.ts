import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { emitEvent } from '../../src/events/bus.js';
import { silenceOperationalLog, startEventLog } from '../../src/events/logger.js';
import { captureOutput } from '../support/capture-output.js';

const run = promisify(execFile);
const CHILD = path.join(import.meta.dirname, '..', 'support', 'event-log-child.ts');

function failed(i: number): void {
  emitEvent('WEB_100020', { IDENTIFIER: `trace-${i}`, CUSTOMER_IDENTIFIER: 'alice' } as never);
}

/** What the operational log wrote to stdout and stderr while `body` ran. */
async function operational(body: () => Promise<void>): Promise<string> {
  silenceOperationalLog(false);
  try {
    return await captureOutput(body);
  } finally {
    silenceOperationalLog(true);
  }
}

describe('events: the event log writes in the background and loses no line', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'otp-event-log-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a file: every event a JSON line, in order, all written when close() resolves', async () => {
    const file = path.join(dir, 'logs', 'events.jsonl');
    const log = startEventLog({ format: 'json', file, console: false });
    for (let i = 0; i < 500; i += 1) failed(i);
    await log.close();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event_id: string; IDENTIFIER: string });
    assert.equal(lines.length, 500);
    assert.deepEqual(lines.map((l) => l.IDENTIFIER), Array.from({ length: 500 }, (_, i) => `trace-${i}`));
    assert.ok(lines.every((l) => l.event_id === 'WEB_100020'));
    failed(500);
    assert.equal(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 500, 'a closed log takes no more events');
  });

  it('a file that cannot be opened (a directory) is said once in the operational log; events and close() go on', async () => {
    const file = path.join(dir, 'taken');
    mkdirSync(file);
    const said = await operational(async () => {
      const log = startEventLog({ format: 'json', file, console: false });
      for (let i = 0; i < 5; i += 1) failed(i);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await log.close();
    });
    const warnings = said.split('\n').filter((l) => l.includes('event log: cannot write to'));
    assert.equal(warnings.length, 1, said);
    assert.match(warnings[0]!, /EISDIR/);
  });

  it('production: standard output is written in the background (no process.stdout.write per event), every line there at exit', async () => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CHILD, '300'], { env: { ...process.env, NODE_ENV: 'production' } });
    const lines = stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 300, stdout.slice(0, 500));
    assert.equal((JSON.parse(lines[299]!) as { IDENTIFIER: string }).IDENTIFIER, 'trace-299');
    assert.match(stderr, /stdout\.write calls: 0\b/);
  });

  it('development: winston\'s Console, in order with the rest of the terminal (process.stdout.write per event)', async () => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CHILD, '3'], { env: { ...process.env, NODE_ENV: 'development' } });
    assert.equal(stdout.split('\n').filter(Boolean).length, 3);
    assert.match(stderr, /stdout\.write calls: 3\b/);
  });
});
