import { createHmac } from 'node:crypto';
import { emitEvent } from '../events/bus.js';

/**
 * Webhooks of the verification API: a verification's final outcome POSTed to its key's `callback_url`, signed
 * (`X-OTP-Signature: t=<unix time>,v1=<HMAC-SHA256 hex of "<t>.<body>">`), with an `Idempotency-Key` that is the
 * same on every attempt of one outcome, retried with doubling delays that add up to `within_seconds`. Never awaited
 * by an answer: a slow or failing receiver delays nothing. Each attempt is an event (OTP_200023, OTP_200024).
 */
export interface WebhookTarget {
  url: string;
  secret: string;
  maxAttempts: number;
  withinSeconds: number;
}

export interface WebhookOutcome {
  idempotencyKey: string;
  outcome: string;
  body: Record<string, unknown>;
  /** The event fields of the verification (IDENTIFIER, CUSTOMER_IDENTIFIER, ...). */
  eventBase: Record<string, unknown>;
}

const TIMEOUT_MS = 5000;

/** The delay before attempt n+1 (n from 1): d, 2d, 4d, ... adding up to within_seconds over max_attempts - 1 waits. */
export function retryDelayMs(target: Pick<WebhookTarget, 'maxAttempts' | 'withinSeconds'>, attempt: number): number | null {
  if (attempt >= target.maxAttempts) return null;
  const waits = target.maxAttempts - 1;
  const first = (target.withinSeconds * 1000) / (2 ** waits - 1);
  return Math.round(first * 2 ** (attempt - 1));
}

export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function deliverWebhook(target: WebhookTarget, o: WebhookOutcome, now: () => number = Date.now): void {
  const body = JSON.stringify(o.body);
  const attempt = async (n: number): Promise<void> => {
    const timestamp = Math.floor(now() / 1000);
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-OTP-Signature': signature(target.secret, timestamp, body), 'Idempotency-Key': o.idempotencyKey },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (e) {
      error = e instanceof Error ? e.name : 'error';
    }
    const when = new Date(now());
    if (status !== null && status >= 200 && status < 300) {
      emitEvent('OTP_200023', { outcome: o.outcome, attempt: n, status }, when, o.eventBase);
      return;
    }
    const retryIn = retryDelayMs(target, n);
    emitEvent('OTP_200024', { outcome: o.outcome, attempt: n, ...(status !== null ? { status } : { error }), retry_in_ms: retryIn }, when, o.eventBase);
    if (retryIn !== null) setTimeout(() => void attempt(n + 1), retryIn).unref();
  };
  void attempt(1);
}
