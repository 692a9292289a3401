import { ConfigError, formatProblem, loadConfig } from './config/index.js';

/**
 * The command line: `otp-authenticator check-config FILE`. Returns the exit code instead of exiting,
 * so tests and the bin wrapper decide.
 */
const USAGE = `Usage: otp-authenticator <command>

Commands:
  check-config FILE   validate a configuration file; prints OK (exit 0) or every error (exit 2)
  help                this text
`;

type Write = (text: string) => void;

export async function main(
  argv: string[],
  out: Write = (t) => process.stdout.write(t),
  err: Write = (t) => process.stderr.write(t),
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check-config':
      return checkConfig(rest, out, err);
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
    loadConfig(file);
    out('OK\n');
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(`${error.problems.length} error${error.problems.length === 1 ? '' : 's'} in the configuration:\n`);
    for (const problem of error.problems) err(`  ${formatProblem(problem)}\n`);
    return 2;
  }
}
