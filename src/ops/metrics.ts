import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestHandler } from 'express';
import { onEvent } from '../events/bus.js';
import type { EventRecord } from '../events/catalogue.js';

/**
 * Prometheus metrics, derived from the event stream so no handler counts anything itself: codes sent by channel
 * and outcome, entries by outcome, aborts, lockouts, rate-limit refusals, and delivery latency.
 */
export interface Metrics {
  registry: Registry;
  handler: RequestHandler;
  stop(): void;
}

const SENT = new Set(['OTP_200002', 'OTP_200005', 'OTP_200006']);
const SEND_FAILED: Record<string, string> = { OTP_200003: 'failed', OTP_200004: 'suppressed', OTP_200013: 'invalid_destination' };

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'otp_process_' });
  const codes = new Counter({ name: 'otp_codes_sent_total', help: 'Codes handed to a gateway, and sends that did not happen, by channel and outcome', labelNames: ['authenticator', 'channel', 'outcome'], registers: [registry] });
  const entries = new Counter({ name: 'otp_entries_total', help: 'Code entries by outcome (accepted, invalid, expired, refused)', labelNames: ['authenticator', 'outcome'], registers: [registry] });
  const aborts = new Counter({ name: 'otp_aborts_total', help: 'Transactions aborted after too many wrong entries', labelNames: ['authenticator'], registers: [registry] });
  const lockouts = new Counter({ name: 'otp_lockouts_total', help: 'Requests refused because the subject is locked out', labelNames: ['authenticator'], registers: [registry] });
  const limited = new Counter({ name: 'otp_rate_limited_total', help: 'Requests refused by a rate limit, by limit', labelNames: ['authenticator', 'limit'], registers: [registry] });
  const latency = new Histogram({ name: 'otp_delivery_seconds', help: 'Time the pre-pipe took to deliver a code, by channel', labelNames: ['channel'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: [registry] });

  const record = (e: EventRecord) => {
    const authenticator = String(e.AUTHENTICATOR_IDENTIFIER ?? '');
    const channel = String(e.channel ?? 'unknown');
    if (SENT.has(e.event_id)) {
      codes.inc({ authenticator, channel, outcome: 'sent' });
      if (typeof e.delivery_ms === 'number') latency.observe({ channel }, e.delivery_ms / 1000);
    } else if (SEND_FAILED[e.event_id]) {
      codes.inc({ authenticator, channel, outcome: SEND_FAILED[e.event_id]! });
    } else if (e.event_id === 'WEB_100019') {
      entries.inc({ authenticator, outcome: 'accepted' });
    } else if (e.event_id === 'WEB_100020') {
      entries.inc({ authenticator, outcome: e.reason === 'OTP_EXPIRED' ? 'expired' : 'invalid' });
    } else if (e.event_id === 'OTP_200007') {
      entries.inc({ authenticator, outcome: 'refused' });
    } else if (e.event_id === 'OTP_200008') {
      aborts.inc({ authenticator });
    } else if (e.event_id === 'OTP_200009') {
      lockouts.inc({ authenticator });
    } else if (e.event_id === 'OTP_200011') {
      limited.inc({ authenticator, limit: String(e.limit ?? 'unknown') });
    }
  };
  const stop = onEvent(record);
  return {
    registry,
    stop,
    handler: async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    },
  };
}
