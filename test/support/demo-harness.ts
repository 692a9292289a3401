import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createDemoApp, type DemoApp } from '../../src/demo/demo-app.js';
import { silenceOperationalLog } from '../../src/events/logger.js';

import { cleanupOnClose, loadConfigOn, testStore } from './test-store.js';

silenceOperationalLog(true);

/** The demo exactly as `npm start` builds it, with its outbox in a temp folder. */
export async function demoHarness(): Promise<DemoApp & { outbox: string; lastCode(to: string): string }> {
  const outbox = path.join(mkdtempSync(path.join(os.tmpdir(), 'otp-demo-')), 'outbox.jsonl');
  process.env.OUTBOX_FILE = outbox;
  const env = { ...process.env, OTP_SECRET: 'demo-test-otp', SESSION_SECRET: 'demo-test-session' };
  const ts = await testStore();
  const demo = await createDemoApp(loadConfigOn(ts, 'config/default.json', env), { env });
  cleanupOnClose(demo.authn, ts);
  return {
    ...demo,
    outbox,
    lastCode(to) {
      if (!existsSync(outbox)) return '';
      const lines = readFileSync(outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { to: string; text: string }).filter((m) => m.to === to);
      return /\b(\d{6})\b/.exec(lines.at(-1)?.text ?? '')?.[1] ?? '';
    },
  };
}

export async function tokenFor(agent: ReturnType<typeof request.agent>, path: string): Promise<string> {
  const res = await agent.get(path).set('Accept', 'application/json');
  return (res.body as { csrf_token: string }).csrf_token;
}
