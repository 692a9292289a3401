import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import type { LoggingConfig } from '../config/types.js';
import { onEvent } from './bus.js';
import type { EventRecord } from './catalogue.js';
import { formatCef, formatJson, type ProductInfo } from './format.js';
import { redactDestinations } from './redact.js';

/**
 * The only module that talks to winston. Two loggers: the event log (one line per event, JSON or CEF, to
 * the console and optionally a file) and the operational log (start-up, warnings, errors), which never
 * carries a code, a whole destination or a secret either.
 */
const PRODUCT: ProductInfo = { vendor: 'otp-authenticator', product: 'otp-authenticator', version: '0.1.0' };

const lineOnly = winston.format.printf((info) => String(info.message));

function operationalLogger(level: LoggingConfig['level']): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.printf((i) => `${String(i.timestamp)} ${i.level}: ${String(i.message)}`)),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}

let appLogger = operationalLogger('info');

// Lines may quote a library's or a custom valve's error text: what looks like a destination is masked first.
export const log = {
  info: (message: string): void => void appLogger.info(redactDestinations(message)),
  warn: (message: string): void => void appLogger.warn(redactDestinations(message)),
  error: (message: string): void => void appLogger.error(redactDestinations(message)),
  debug: (message: string): void => void appLogger.debug(redactDestinations(message)),
};

const warned = new Set<string>();

/** A development default in use, say: said once per process, not on every request. */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(message);
}

export function setLogLevel(level: LoggingConfig['level']): void {
  appLogger.level = level;
}

/** Keeps test output quiet; the event log is separate and unaffected. */
export function silenceOperationalLog(silent: boolean): void {
  appLogger.silent = silent;
}

export interface EventLog {
  close(): Promise<void>;
}

/**
 * Where event lines go, each an fs.WriteStream: its writes are done by libuv's thread pool, so a request never
 * waits on the disk or on a reader of standard output. (Node writes process.stdout synchronously to files and pipes
 * on Linux, and winston's Console transport writes there: a write per event on the request's path.) A target that
 * fails (a directory, a full disk) is said once in the operational log and never takes the process down.
 */
function eventStream(target: { file: string } | { fd: number; name: string }): WriteStream {
  const stream = 'file' in target
    ? createWriteStream(target.file, { flags: 'a' })
    : createWriteStream('', { fd: target.fd, autoClose: false });
  const name = 'file' in target ? target.file : target.name;
  stream.on('error', (error: NodeJS.ErrnoException) => warnOnce(`event-log:${name}`, `event log: cannot write to ${name} (${error.code ?? error.message}); events go on to the other targets`));
  return stream;
}

function ended(stream: WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.once('finish', () => resolve());
    stream.once('error', () => resolve());
    stream.end();
  });
}

/**
 * Subscribes a winston logger to the event bus; returns a handle that unsubscribes and waits until every line is
 * written. Standard output in production (NODE_ENV=production) is written as the file is, in the background; in
 * development through winston's Console, in order with the rest of a developer's terminal.
 */
export function startEventLog(config: LoggingConfig['events'], product: ProductInfo = PRODUCT): EventLog {
  const streams: WriteStream[] = [];
  const transports: winston.transport[] = [];
  if (config.console && process.env.NODE_ENV === 'production') streams.push(eventStream({ fd: 1, name: 'standard output' }));
  else if (config.console) transports.push(new winston.transports.Console());
  if (config.file) {
    mkdirSync(path.dirname(path.resolve(config.file)), { recursive: true });
    streams.push(eventStream({ file: config.file }));
  }
  for (const stream of streams) transports.push(new winston.transports.Stream({ stream, eol: '\n' }));
  const logger = winston.createLogger({ level: 'info', format: lineOnly, transports, silent: transports.length === 0 });
  const render = config.format === 'cef' ? (e: EventRecord) => formatCef(e, product) : formatJson;
  const unsubscribe = onEvent((event) => logger.info(render(event)));
  return {
    close: async () => {
      unsubscribe();
      if (transports.length === 0) return;
      await new Promise<void>((resolve) => {
        logger.on('finish', () => resolve());
        logger.end();
      });
      // winston is done when it has handed every line to the streams; they are done when the lines are written.
      await Promise.all(streams.map(ended));
    },
  };
}
