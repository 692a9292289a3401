// The demo server behind `npm start`: loads the configuration (OTP_CONFIG, the first argument, or
// config/default.json), refuses a bad one (or, with NODE_ENV=production, a development set-up) with exit 2
// before listening, and serves the demo SSO site. SIGTERM stops accepting, lets requests in flight finish,
// closes the store and exits 0.
import { ConfigError, formatProblem, loadConfig, type AppConfig } from './config/index.js';
import { createDemoApp } from './demo/demo-app.js';
import { log, startEventLog } from './events/logger.js';
import { ProductionRefusedError } from './ops/production-guards.js';
import { packagePath } from './package-root.js';

function refuse(message: string): never {
  process.stderr.write(`otp-authenticator: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const file = process.env.OTP_CONFIG || process.argv[2] || packagePath('config', 'default.json');
  let config: AppConfig;
  try {
    config = loadConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    refuse(`the configuration is not valid:\n${error.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  }
  if (process.env.REDIS_URL) {
    // The demo (not the config) switches to Redis when REDIS_URL is set; REDIS_PREFIX keeps deployments apart.
    config = { ...config, store: { type: 'redis', url: process.env.REDIS_URL, prefix: process.env.REDIS_PREFIX || config.store.prefix } };
  }
  const port = Number(process.env.PORT || config.server.port);
  if (config.oidc && !process.env.OIDC_ISSUER && config.oidc.issuer === 'http://localhost:3000/oidc') {
    // The demo's issuer follows PORT, so `PORT=3456 npm start` works as it is (OIDC_ISSUER names another).
    config = { ...config, oidc: { ...config.oidc, issuer: `http://localhost:${port}/oidc` } };
  }
  const eventsFile = process.env.EVENTS_FILE || config.logging.events.file;
  const events = startEventLog({ ...config.logging.events, file: eventsFile });
  let demo;
  try {
    demo = await createDemoApp(config);
  } catch (error) {
    if (error instanceof ProductionRefusedError) refuse(error.message);
    throw error;
  }
  const { app, authn } = demo;
  const server = app.listen(port, () => log.info(`demo SSO listening on http://localhost:${port}/ (users: alice/wonderland, bob/builder, carol/bletchley)`));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: no new connections; finishing requests in flight`);
    server.close(async () => {
      await authn.close();
      await events.close();
      process.exit(0);
    });
    // Keep-alive connections with no request in flight would hold close() open; requests in flight keep theirs.
    server.closeIdleConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`otp-authenticator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
