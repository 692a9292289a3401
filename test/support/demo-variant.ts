import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { createDemoApp, type DemoApp } from '../../src/demo/demo-app.js';
import { silenceOperationalLog } from '../../src/events/logger.js';
import { ROOT } from './otp-api.js';
import { tempConfigDir } from './temp-config.js';
import { cleanupOnClose, testStore } from './test-store.js';

silenceOperationalLog(true);

/**
 * The demo app (src/demo/demo-app.ts, as `npm start` builds it) over a copy of config/default.json that a test
 * changes first (trust_proxy, rate limits, ...). The copy sits in a temp folder with the demo users file beside it,
 * its pipes those of the repository's `pipes/` (the Outbox quiet), its outbox and events in the temp folder.
 */
export async function demoVariant(change: (config: Record<string, any>) => void): Promise<DemoApp & { outbox: string; dir: string }> {
  const t = tempConfigDir();
  const config = JSON.parse(readFileSync(path.join(ROOT, 'config', 'default.json'), 'utf8')) as Record<string, any>;
  delete config.$schema;
  // The repository's pipes, with the Outbox quiet (no terminal line per message).
  config.pipes = readdirSync(path.join(ROOT, 'pipes')).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const pipe = JSON.parse(readFileSync(path.join(ROOT, 'pipes', f), 'utf8')) as { valves: { name: string; config?: object }[] };
    return { ...pipe, valves: pipe.valves.map((v) => (v.name === 'Outbox' ? { ...v, config: { ...v.config, print: false } } : v)) };
  });
  config.logging = { ...config.logging, events: { ...config.logging?.events, file: path.join(t.dir, 'events.jsonl'), console: false } };
  // TEST_STORE=redis: a Redis store of its own, unless the change names one.
  const ts = await testStore();
  change(config);
  ts.apply(config);
  copyFileSync(path.join(ROOT, 'config', 'demo-users.json'), path.join(t.dir, 'demo-users.json'));
  const file = t.write('config.json', config);
  const outbox = path.join(t.dir, 'outbox.jsonl');
  const env = { ...process.env, OUTBOX_FILE: outbox, OTP_SECRET: 'variant-otp', SESSION_SECRET: 'variant-session' };
  const previous = process.env.OUTBOX_FILE;
  process.env.OUTBOX_FILE = outbox;
  try {
    const demo = await createDemoApp(loadConfig(file, env), { env });
    cleanupOnClose(demo.authn, ts);
    return { ...demo, outbox, dir: t.dir };
  } finally {
    if (previous === undefined) delete process.env.OUTBOX_FILE;
    else process.env.OUTBOX_FILE = previous;
  }
}
