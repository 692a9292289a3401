// The demo server behind `npm start`: loads the configuration (OTP_CONFIG, the first argument, or
// config/default.json), refuses a bad one with exit 2 before listening, and serves the demo SSO site.
import { ConfigError, formatProblem, loadConfig, type AppConfig } from './config/index.js';
import { createDemoApp } from './demo/demo-app.js';
import { log, startEventLog } from './events/logger.js';
import { packagePath } from './package-root.js';

async function main(): Promise<void> {
  const file = process.env.OTP_CONFIG || process.argv[2] || packagePath('config', 'default.json');
  let config: AppConfig;
  try {
    config = loadConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`otp-authenticator: the configuration is not valid:\n${error.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`);
    process.exit(2);
  }
  if (process.env.REDIS_URL) {
    // The demo (not the config) switches to Redis when REDIS_URL is set; REDIS_PREFIX keeps deployments apart.
    config = { ...config, store: { type: 'redis', url: process.env.REDIS_URL, prefix: process.env.REDIS_PREFIX || config.store.prefix } };
  }
  const eventsFile = process.env.EVENTS_FILE || config.logging.events.file;
  const events = startEventLog({ ...config.logging.events, file: eventsFile });
  const { app, authn } = await createDemoApp(config);
  const port = Number(process.env.PORT || config.server.port);
  const server = app.listen(port, () => log.info(`demo SSO listening on http://localhost:${port}/ (users: alice/wonderland, bob/builder)`));
  const stop = () => {
    server.close(async () => {
      await authn.close();
      await events.close();
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`otp-authenticator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
