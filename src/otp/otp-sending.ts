import { lockOwnerOf } from '../store/types.js';
import {
  newId, maskDestination, maskReport, buildReport, type OtpPolicy, type FailureDetail, type ReserveSendOutcome,
  type SendKind, type TransactionRecord, type TxDestination,
} from '../transaction/index.js';
import { consumeAll, type LimitRequest } from '../limits/rate-limits.js';
import { FlowReason } from '../pipes/reasons.js';
import type { Destination, FlowFailure } from '../pipes/types.js';
import { OtpError, isStoreUnavailable } from '../errors.js';
import type { OtpAuthenticatorConfig } from '../config/types.js';
import type { OtpRequest } from './otp-request.js';
import type { OtpServices } from './otp-services.js';

/**
 * Sending a code: the first, a resend, or one to a changed destination. The pre-pipe normalises, checks policy,
 * generates and delivers; this module wraps it in the transaction's two atomic steps (reserve a send, then
 * commit or release it) and checks the send budgets at the last moment before delivery (the delivery hook),
 * once the destination is known.
 */
const REFUSED_BY_TRANSACTION = 'REFUSED BY TRANSACTION';
export const NON_GEOGRAPHIC = '001';

const REASON_TO_ERROR: Record<string, { code: 'INVALID_DESTINATION' | 'DESTINATION_NOT_ALLOWED' | 'DELIVERY_FAILED'; detail: FailureDetail; event: 'OTP_200013' | 'OTP_200004' | 'OTP_200003' }> = {
  [FlowReason.DATA_CHECK_FAILED]: { code: 'INVALID_DESTINATION', detail: 'DATA CHECK FAILED', event: 'OTP_200013' },
  [FlowReason.SUPPRESSED_SENDING_CODE]: { code: 'DESTINATION_NOT_ALLOWED', detail: 'SUPPRESSED SENDING CODE', event: 'OTP_200004' },
};
const DELIVERY_FAILURE = { code: 'DELIVERY_FAILED', detail: 'FAILED TO SEND TO NUMBER', event: 'OTP_200003' } as const;

export interface SendContext {
  services: OtpServices;
  config: OtpAuthenticatorConfig;
  policy: OtpPolicy;
  pipeId: string;
}

function reserveError(outcome: Exclude<ReserveSendOutcome, { ok: true }>): OtpError {
  switch (outcome.code) {
    case 'RESEND_TOO_SOON':
      return new OtpError('RESEND_TOO_SOON', { retry_after: outcome.retry_after }, { messageValues: { seconds: outcome.retry_after } });
    case 'ALREADY_SENT': case 'NO_PENDING_CODE':
      return new OtpError('NO_PENDING_CODE');
    default:
      return new OtpError(outcome.code);
  }
}

function toTxDestination(d: Destination): TxDestination {
  return { address: d.address, ...(d.country ? { country: d.country } : {}), ...(d.line_type ? { line_type: d.line_type } : {}) };
}

function sendLimits(c: SendContext, r: OtpRequest, d: Destination): LimitRequest[] {
  const out: LimitRequest[] = [
    { limit: 'sends_per_destination_per_minute', key: d.address },
    { limit: 'sends_per_ip_per_hour', key: r.req.ip ?? '' },
    { limit: 'sends_global_per_hour', key: '*' },
  ];
  // Non-geographic numbers (satellite +870/+881, +883) have no country: they share one budget, "001".
  if (d.kind === 'phone') out.push({ limit: 'sends_per_country_per_hour', key: d.country ?? NON_GEOGRAPHIC });
  return out;
}

/**
 * Runs one send. `input` is the destination as configured or typed. Resolves with the record after the send;
 * rejects with an OtpError the router answers (the transaction is left whole unless the first send failed).
 */
/**
 * `narrow`: a caller's own refusal of a destination the pipe accepted (the verification API's `options`), checked
 * once the destination is known and before anything is reserved or paid for; it can only refuse more.
 */
export async function sendCode(c: SendContext, r: OtpRequest, kind: SendKind, input: string, tx: TransactionRecord, lockChecked = false, narrow?: (d: Destination) => boolean): Promise<TransactionRecord> {
  const { store, limits } = c.services;
  const now = c.services.now();
  let reservationId: string | null = null;
  let refusal: OtpError | null = null;
  let limited: { limit: string; retryAfterSeconds: number } | null = null;

  if (!lockChecked) {
    // Another session's abort locked the subject: its codes would all be refused, so none is sent (and paid for).
    // Also for a `resend` that is a first send (the first one failed): only open() has just looked.
    const lock = await store.getLock(lockOwnerOf(r.key), r.subject, now);
    if (lock) {
      const retryAfter = Math.max(1, Math.ceil((lock.until - now) / 1000));
      r.emit('OTP_200009', { retry_after: retryAfter });
      throw new OtpError('LOCKED', { retry_after: retryAfter });
    }
  }

  if (kind !== 'change') {
    const step = await store.reserveSend(r.key, c.policy, now, kind);
    if (!step.tx) throw new OtpError('NO_PENDING_CODE');
    // A parallel request (a double-clicked link, a reload) already sent the first code: show it, send nothing.
    if (!step.outcome.ok && kind === 'first' && step.outcome.code === 'ALREADY_SENT') return step.tx;
    if (!step.outcome.ok) throw reserveError(step.outcome);
    reservationId = step.outcome.reservation_id;
  }

  // A store that fails inside the delivery hook is an outage (503), not a delivery that failed (502): the pipe only
  // learns that the hook refused, and the error is thrown again once the pipe has ended.
  let storeDown: unknown = null;
  const beforeDelivery = async (destination: Destination): Promise<FlowFailure | null> => {
    try {
      return await checkBeforeDelivery(destination);
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      storeDown = error;
      return { reason: REFUSED_BY_TRANSACTION };
    }
  };
  const checkBeforeDelivery = async (destination: Destination): Promise<FlowFailure | null> => {
    if (narrow && !narrow(destination)) return { reason: FlowReason.SUPPRESSED_SENDING_CODE, message: 'refused by the request\'s options' };
    if (kind === 'change') {
      const step = await store.reserveSend(r.key, c.policy, c.services.now(), 'change', toTxDestination(destination));
      if (!step.tx) { refusal = new OtpError('NO_PENDING_CODE'); return { reason: REFUSED_BY_TRANSACTION }; }
      if (!step.outcome.ok) { refusal = reserveError(step.outcome); return { reason: REFUSED_BY_TRANSACTION }; }
      reservationId = step.outcome.reservation_id;
    }
    const budget = await consumeAll(limits, sendLimits(c, r, destination));
    if (!budget.ok) {
      limited = { limit: budget.limit, retryAfterSeconds: budget.retryAfterSeconds };
      return { reason: FlowReason.RATE_LIMITED, message: budget.limit };
    }
    return null;
  };

  const pipe = c.services.pipes.get(c.pipeId);
  if (!pipe) throw new Error(`pre-pipe ${c.pipeId} is not built`);
  const flow = r.flow({ transaction_id: tx.id, destination_input: input }, { beforeDelivery });
  const started = performance.now();
  const result = await pipe.run(flow);
  const deliveryMs = Math.round(performance.now() - started);
  const destination = flow.state.destination;
  const masked = destination ? maskDestination(destination.address) : undefined;

  // A code counts as sent only when a delivery valve said it delivered it (a fallback switched off by mistake must
  // not turn "nothing went out" into a code sent).
  if (result.ok && flow.state.code && destination && flow.state.delivered) {
    if (reservationId === null) {
      // A delivery valve that did not call the delivery hook: the code is out, so the reservation comes late.
      const step = await store.reserveSend(r.key, c.policy, c.services.now(), kind, kind === 'change' ? toTxDestination(destination) : undefined);
      if (!step.tx || !step.outcome.ok) throw step.tx && !step.outcome.ok ? reserveError(step.outcome) : new OtpError('NO_PENDING_CODE');
      reservationId = step.outcome.reservation_id;
    }
    const sentAt = flow.state.delivered?.at ?? c.services.now();
    const commit = await store.commitSend(r.key, c.policy, reservationId, {
      id: newId(),
      hash: flow.state.code.hash,
      destination: toTxDestination(destination),
      sent_at: sentAt,
      expires_at: sentAt + c.config.code.ttl_seconds * 1000,
      channel: destination.channel,
    });
    if (!commit.tx || !commit.outcome.ok) throw new OtpError('NO_PENDING_CODE');
    const fields = { channel: destination.channel, destination: masked, codes_sent: commit.tx.codes_sent, delivery_ms: deliveryMs };
    if (kind === 'first') r.emit('OTP_200002', fields);
    else if (kind === 'resend') r.emit('OTP_200005', fields);
    else r.emit('OTP_200006', { ...fields, from: commit.outcome.change ? maskDestination(commit.outcome.change.from) : undefined, to: masked });
    return commit.tx;
  }

  // Nothing was delivered.
  const failure = result.ok ? { reason: FlowReason.FAILED_TO_SEND, message: 'the pre-pipe ended without delivering the code' } : result.failure;
  const mapped = REASON_TO_ERROR[failure.reason] ?? DELIVERY_FAILURE;
  const counted = failure.reason !== REFUSED_BY_TRANSACTION && failure.reason !== FlowReason.RATE_LIMITED;
  let released: TransactionRecord | null = null;
  if (reservationId !== null) {
    const step = await store.releaseSend(r.key, c.policy, reservationId, c.services.now(),
      counted ? { detail: mapped.detail, ...(destination ? { destination: toTxDestination(destination) } : {}) } : undefined);
    released = step.tx;
  }
  if (storeDown !== null) throw storeDown;
  if (refusal) throw refusal;
  if (limited) {
    const { limit, retryAfterSeconds } = limited;
    r.emit('OTP_200011', { limit, destination: masked });
    throw new OtpError('RATE_LIMITED', { retry_after: retryAfterSeconds });
  }
  // A first send that failed ends the transaction (FAILED): its event is the final one and carries the report.
  const final = released?.phase === 'FAILED' ? { report: maskReport(buildReport(released, c.policy, c.services.now())) as unknown as Record<string, unknown> } : {};
  r.emit(mapped.event, { reason: failure.reason, destination: masked, valve: failure.valve, channel: destination?.channel, delivery_ms: deliveryMs, ...final });
  throw new OtpError(mapped.code);
}
