import type { Channel } from '../transaction/index.js';

/**
 * Which built-in delivery valve reaches which channel, so that a caller asking for one (the verification API's
 * `channel`) learns before anything is sent whether the pre-pipe can deliver it. The Outbox writes every channel.
 */
const DELIVERS: Readonly<Record<string, readonly Channel[]>> = {
  SmsSend: ['sms'],
  VoiceCall: ['voice'],
  EmailSend: ['email'],
  Outbox: ['sms', 'voice', 'email'],
};

/** Whether a pipe with these valves can deliver a code by `channel`. */
export function pipeDelivers(valveNames: ReadonlySet<string>, channel: Channel): boolean {
  for (const name of valveNames) if (DELIVERS[name]?.includes(channel)) return true;
  return false;
}
