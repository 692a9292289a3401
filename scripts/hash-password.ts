/**
 * Prints a scrypt hash for the demo users file (config/demo-users.json).
 *
 *   npx tsx scripts/hash-password.ts            # reads the password from stdin (kept out of shell history)
 *   echo -n 'secret' | npx tsx scripts/hash-password.ts
 *   npx tsx scripts/hash-password.ts 'secret'   # quick, but the password lands in shell history
 */
import { hashPassword } from '../src/valves/password-hash.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const password = process.argv[2] ?? (await readStdin());
if (password === '') {
  process.stderr.write('hash-password: empty password\n');
  process.exit(1);
}
process.stdout.write((await hashPassword(password)) + '\n');
