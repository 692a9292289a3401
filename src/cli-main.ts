// Entry point for running the CLI from source (`tsx src/cli-main.ts`); the published bin runs the compiled cli.js.
import { main } from './cli.js';

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  process.stderr.write(`otp-authenticator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
