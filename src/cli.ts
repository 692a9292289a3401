import { parseArgs } from 'node:util';
import { generate } from 'otplib';
import { ConfigError, formatProblem, loadConfig } from './config/index.js';
import { startEventLog } from './events/logger.js';
import { unlockSubject } from './ops/unlock.js';
import { packagePath } from './package-root.js';
import { connectRedisStore } from './store/redis-store.js';
import { connectionOf } from './redis/connection.js';
import type { AppConfig } from './config/types.js';
import { RedisCredentialStore } from './store/redis-credential-store.js';
import { normaliseTotpSecret } from './valves/totp-validate.js';

/**
 * The command line: `otp-authenticator check-config FILE`, `unlock SUBJECT`, `devices SUBJECT`, `totp SECRET`. Returns the exit code instead of exiting,
 * so tests and the bin wrapper decide.
 */
const USAGE = `Usage: otp-authenticator <command>

Commands:
  check-config FILE   validate a configuration file; prints OK (exit 0) or every error (exit 2)
  unlock SUBJECT      lift SUBJECT's lockout in every OTP authenticator (or --authenticator ID)
                      --config FILE   the configuration (default: OTP_CONFIG, else config/default.json)
                      with a Redis store (or REDIS_URL): directly in Redis (REDIS_PREFIX, else store.prefix);
                      with the memory store: through the running server's admin route,
                      --url URL (default http://localhost:PORT) and the token in OTP_ADMIN_TOKEN
  devices SUBJECT     list SUBJECT's trusted browsers (id, created, last used, expires, browser);
                      --revoke ID|all revokes one or all; in Redis (REDIS_URL, else the config's store),
                      --config FILE as for unlock; a memory store lives in its server: use
                      authn.credentials.devices() / revokeDevices() there
  totp SECRET         print the current TOTP code of a base32 SECRET, as an authenticator app shows it
                      (--digits N, default 6; --period SECONDS, default 30; --algorithm sha1|sha256|sha512,
                      default sha1; --at EPOCH_SECONDS, default now); for testing a
                      TotpValidate step with a test secret, never a user's (it lands in shell history)
  help                this text
`;

type Write = (text: string) => void;


/** The Redis the CLI works on: REDIS_URL when set (as the demo server reads it), else the config's store. */
function redisOf(config: AppConfig) {
  return process.env.REDIS_URL ? { url: process.env.REDIS_URL } : connectionOf(config.store);
}

export async function main(
  argv: string[],
  out: Write = (t) => process.stdout.write(t),
  err: Write = (t) => process.stderr.write(t),
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check-config':
      return checkConfig(rest, out, err);
    case 'unlock':
      return unlock(rest, out, err);
    case 'totp':
      return totp(rest, out, err);
    case 'devices':
      return devices(rest, out, err);
    case 'help': case '--help': case '-h':
      out(USAGE);
      return 0;
    default:
      err(command ? `Unknown command "${command}".\n\n${USAGE}` : USAGE);
      return 2;
  }
}

function checkConfig(args: string[], out: Write, err: Write): number {
  const file = args[0];
  if (!file || args.length > 1) {
    err('Usage: otp-authenticator check-config FILE\n');
    return 2;
  }
  try {
    const config = loadConfig(file);
    for (const warning of config.warnings ?? []) err(`warning: ${formatProblem(warning)}\n`);
    out('OK\n');
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(`${error.problems.length} error${error.problems.length === 1 ? '' : 's'} in the configuration:\n`);
    for (const problem of error.problems) err(`  ${formatProblem(problem)}\n`);
    return 2;
  }
}

async function unlock(args: string[], out: Write, err: Write): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' }, authenticator: { type: 'string' }, url: { type: 'string' } } });
  } catch (error) {
    err(`${(error as Error).message}\nUsage: otp-authenticator unlock SUBJECT [--authenticator ID] [--config FILE] [--url URL]\n`);
    return 2;
  }
  const subject = parsed.positionals[0];
  if (!subject || parsed.positionals.length > 1) {
    err('Usage: otp-authenticator unlock SUBJECT [--authenticator ID] [--config FILE] [--url URL]\n');
    return 2;
  }
  const config = configFor(parsed.values.config, err);
  if (!config) return 2;
  // A Selector's choices are locked out together, under the selector's id.
  const all = config.authenticators.filter((a) => a.canonicalType === 'OTP' || a.canonicalType === 'Selector').map((a) => a.id);
  const wanted = parsed.values.authenticator;
  const ids = wanted ? all.filter((id) => id === wanted) : all;
  if (ids.length === 0) {
    err(`no OTP authenticator or Selector${wanted ? ` "${wanted}"` : ''} in the configuration (there are: ${all.join(', ') || 'none'})\n`);
    return 2;
  }
  const redis = redisOf(config);
  if (redis) {
    const events = startEventLog({ ...config.logging.events, console: true, file: process.env.EVENTS_FILE || config.logging.events.file });
    const store = await connectRedisStore(redis, process.env.REDIS_PREFIX || config.store.prefix);
    try {
      const result = await unlockSubject(store, ids, subject);
      out(result.unlocked.length > 0 ? `unlocked ${subject} in ${result.unlocked.join(', ')}\n` : `${subject} was not locked out\n`);
      return 0;
    } finally {
      await store.close();
      await events.close();
    }
  }
  const token = process.env.OTP_ADMIN_TOKEN;
  if (!token) {
    err('the memory store lives inside the server: set OTP_ADMIN_TOKEN (the same value the server runs with) to unlock through it\n');
    return 2;
  }
  const url = `${(parsed.values.url ?? `http://localhost:${process.env.PORT || config.server.port}`).replace(/\/$/, '')}/_authn/admin/unlock`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ subject, ...(wanted ? { authenticator: wanted } : {}) }) });
  } catch (error) {
    err(`cannot reach the server at ${url}: ${(error as Error).message}\n`);
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as { unlocked?: string[]; error?: { message?: string } };
  if (!res.ok) {
    err(`the server refused (${res.status}): ${body.error?.message ?? 'no reason given'}\n`);
    return 1;
  }
  out(body.unlocked && body.unlocked.length > 0 ? `unlocked ${subject} in ${body.unlocked.join(', ')}\n` : `${subject} was not locked out\n`);
  return 0;
}

const TOTP_USAGE = 'Usage: otp-authenticator totp SECRET [--digits 6|7|8] [--period SECONDS] [--algorithm sha1|sha256|sha512] [--at EPOCH_SECONDS]\n';

async function totp(args: string[], out: Write, err: Write): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { digits: { type: 'string', default: '6' }, period: { type: 'string', default: '30' }, algorithm: { type: 'string', default: 'sha1' }, at: { type: 'string' } } });
  } catch (error) {
    err(`${(error as Error).message}\n${TOTP_USAGE}`);
    return 2;
  }
  const [raw] = parsed.positionals;
  const digits = Number(parsed.values.digits);
  const period = Number(parsed.values.period);
  const algorithm = parsed.values.algorithm;
  const epoch = parsed.values.at === undefined ? Math.floor(Date.now() / 1000) : Number(parsed.values.at);
  if (raw === undefined || parsed.positionals.length > 1 || ![6, 7, 8].includes(digits) || !Number.isInteger(period) || period < 1 || !Number.isSafeInteger(epoch) || epoch < 0
    || (algorithm !== 'sha1' && algorithm !== 'sha256' && algorithm !== 'sha512')) {
    err(TOTP_USAGE);
    return 2;
  }
  const secret = normaliseTotpSecret(raw);
  if (!secret) {
    err('the secret is not base32 (the letters A-Z and the digits 2-7, as an authenticator app takes it)\n');
    return 2;
  }
  try {
    out(`${await generate({ strategy: 'totp', secret, digits, period, algorithm, epoch })}\n`);
    return 0;
  } catch (error) {
    err(`the secret is not usable: ${(error as Error).message}\n`);
    return 2;
  }
}

/** The configuration a command works on (--config, else OTP_CONFIG, else the demo's); null after printing why not. */
function configFor(file: string | undefined, err: Write): ReturnType<typeof loadConfig> | null {
  try {
    return loadConfig(file || process.env.OTP_CONFIG || packagePath('config', 'default.json'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) err(`  ${formatProblem(problem)}\n`);
    return null;
  }
}

async function devices(args: string[], out: Write, err: Write): Promise<number> {
  const usage = 'Usage: otp-authenticator devices SUBJECT [--revoke ID|all] [--config FILE]\n';
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' }, revoke: { type: 'string' } } });
  } catch (error) {
    err(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const subject = parsed.positionals[0];
  if (!subject || parsed.positionals.length > 1 || parsed.values.revoke === '') {
    err(usage);
    return 2;
  }
  const config = configFor(parsed.values.config, err);
  if (!config) return 2;
  const redis = redisOf(config);
  if (!redis) {
    err('trusted browsers of a memory store live inside its server: use authn.credentials.devices() and revokeDevices() there, or run on Redis\n');
    return 2;
  }
  const store = await connectRedisStore(redis, process.env.REDIS_PREFIX || config.store.prefix);
  try {
    const credentials = new RedisCredentialStore(store.client, store.prefix);
    if (parsed.values.revoke !== undefined) {
      const n = await credentials.revokeDevices(subject, parsed.values.revoke);
      out(`revoked ${n} trusted browser${n === 1 ? '' : 's'} of ${subject}\n`);
      return 0;
    }
    const list = await credentials.getDevices(subject);
    if (list.length === 0) out(`${subject} has no trusted browsers\n`);
    const at = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
    for (const d of list) out(`${d.id}  created ${at(d.created_at)}  last used ${at(d.last_used_at)}  expires ${at(d.expires_at)}  ${d.user_agent}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
