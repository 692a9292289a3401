/**
 * A process of its own for test/unit/events.logger.test.ts: the event log on standard output as NODE_ENV (given
 * by the parent) sets it up, N events, close, exit at once. On stderr: how many times process.stdout.write ran.
 */
import { emitEvent } from '../../src/events/bus.js';
import { startEventLog } from '../../src/events/logger.js';

let writes = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((...args: Parameters<typeof write>) => { writes += 1; return write(...args); }) as typeof process.stdout.write;
const events = startEventLog({ format: 'json', file: null, console: true });
const n = Number(process.argv[2] ?? 100);
for (let i = 0; i < n; i += 1) emitEvent('WEB_100020', { IDENTIFIER: `trace-${i}`, CUSTOMER_IDENTIFIER: 'alice' } as never);
await events.close();
process.stderr.write(`stdout.write calls: ${writes}\n`);
process.exit(0);
