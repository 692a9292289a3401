/**
 * Outbox: development delivery (SPEC section 9). Instead of a gateway, the message is appended as
 * one JSON line to a file and printed to the terminal, so a developer or a test script can read
 * the code. Production refuses it (SPEC section 2); the factory refuses too, as a second guard.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { guardDelivery } from './delivery-guard.js';
import { DEFAULT_CODE_TEMPLATE, renderTemplate, ttlMinutes } from './message-template.js';
import { requestMessage } from './message-catalogue.js';

export const DEFAULT_OUTBOX_FILE = 'var/outbox.jsonl';

export interface OutboxConfig {
  file?: string;
  template?: string;
  app_name?: string;
  print?: boolean;
}

export const outboxSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    file: { type: 'string', minLength: 1, description: 'JSON-lines file, relative to the working directory; OUTBOX_FILE overrides.' },
    template: { type: 'string', minLength: 1, maxLength: 1000, description: 'Message text with {{code}}, {{minutes}}, {{app}}, {{fn}}, {{ln}} (or PhoneMatch\'s {pin}, {fn}, {ln}).' },
    app_name: { type: 'string', description: "Overrides the authenticator's app name in {{app}}." },
    print: { type: 'boolean', description: 'Print each message to stdout (default true).' },
  },
};

/** The file Outbox writes to: OUTBOX_FILE, else the valve config, else var/outbox.jsonl, from the cwd. */
export function outboxFile(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env['OUTBOX_FILE'] || configured || DEFAULT_OUTBOX_FILE;
  return path.resolve(process.cwd(), chosen);
}

export const outbox: ValveFactory<OutboxConfig> = (config, deps) => {
  if (deps.production) throw new Error('the Outbox valve is for development and is refused with NODE_ENV=production');
  const file = outboxFile(config.file);
  const template = config.template ?? DEFAULT_CODE_TEMPLATE;
  const print = config.print !== false;
  let folderReady: Promise<unknown> | undefined;

  return {
    async run(ctx) {
      const destination = ctx.state.destination;
      const code = ctx.state.code;
      if (!destination || typeof destination.address !== 'string') {
        return failFlow(FlowReason.VALVE_ERROR, 'no destination to deliver to');
      }
      if (!code || typeof code.value !== 'string') return failFlow(FlowReason.VALVE_ERROR, 'no code to deliver');

      const refused = await guardDelivery(ctx);
      if (refused) return refused;

      const fn = ctx.exports['fn'];
      const ln = ctx.exports['ln'];
      const text = renderTemplate(requestMessage(ctx) ?? template, {
        code: code.value,
        minutes: ttlMinutes(ctx.authenticator.code?.ttl_seconds),
        app: config.app_name ?? ctx.authenticator.app_name ?? 'sign-in',
        ...(typeof fn === 'string' ? { fn } : {}),
        ...(typeof ln === 'string' ? { ln } : {}),
      });
      const at = deps.now();
      const line = { channel: destination.channel, to: destination.address, text, sent_at: new Date(at).toISOString() };

      folderReady ??= mkdir(path.dirname(file), { recursive: true });
      try {
        await folderReady;
      } catch (error) {
        folderReady = undefined;
        throw error;
      }
      // One write per message with O_APPEND, so concurrent flows do not interleave inside a line.
      await appendFile(file, JSON.stringify(line) + '\n', 'utf8');
      if (print) process.stdout.write(`[outbox] ${line.channel} to ${line.to}: ${text}\n`);

      ctx.state.delivered = { channel: destination.channel, to: destination.address, at };
      return undefined;
    },
  };
};
