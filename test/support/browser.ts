import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { loadConfig } from '../../src/config/index.js';
import { createDemoApp } from '../../src/demo/demo-app.js';
import { silenceOperationalLog } from '../../src/events/logger.js';

silenceOperationalLog(true);

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve('test/browser/screenshots');

/**
 * Real Chromium (Debian's) through playwright-core. Without it the suite skips, saying so, unless
 * REQUIRE_BROWSER=1 (CI), where a missing browser fails the run.
 */
export async function launchBrowser(ctx: Mocha.Context): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.REQUIRE_BROWSER === '1') throw new Error(`REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
    process.stdout.write(`    (browser suite skipped: ${CHROMIUM} is not installed; apt-get install -y chromium)\n`);
    ctx.skip();
    return null;
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'] });
}

/** The demo on a free loopback port, with its own outbox; `otp` overrides keys of the OTP step. */
export async function startDemo(otp: Record<string, unknown> = {}): Promise<{ url: string; lastCode(to: string): string; codes(to: string): string[]; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-browser-'));
  const outbox = path.join(dir, 'outbox.jsonl');
  const config = JSON.parse(readFileSync('config/default.json', 'utf8')) as { pipes: string; authenticators: { id: string; config: Record<string, unknown> }[]; logging: unknown; $schema?: string };
  delete config.$schema;
  config.pipes = `@include:${path.resolve('pipes')}`;
  config.logging = { events: { console: false } };
  for (const a of config.authenticators) if (a.id === 'otp') Object.assign(a.config, otp);
  copyFileSync('config/demo-users.json', path.join(dir, 'demo-users.json'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const env = { ...process.env, OUTBOX_FILE: outbox, OTP_SECRET: 'browser-otp', SESSION_SECRET: 'browser-session' };
  const previous = process.env.OUTBOX_FILE;
  process.env.OUTBOX_FILE = outbox;
  const { app, authn } = await createDemoApp(loadConfig(path.join(dir, 'config.json'), env), { env });
  if (previous === undefined) delete process.env.OUTBOX_FILE; else process.env.OUTBOX_FILE = previous;
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const codes = (to: string) => (existsSync(outbox) ? readFileSync(outbox, 'utf8').trim().split('\n') : [])
    .map((l) => JSON.parse(l) as { to: string; text: string }).filter((m) => m.to === to).map((m) => /\b(\d{6})\b/.exec(m.text)?.[1] ?? '');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    codes,
    lastCode: (to) => codes(to).at(-1) ?? '',
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await authn.close();
    },
  };
}
