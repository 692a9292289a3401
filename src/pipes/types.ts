/**
 * The contract between the pipe engine, the valves and the authenticators that run pipes.
 * A valve sees only this context; it never sees the HTTP response.
 */
import type { Channel, LiveCode } from '../transaction/index.js';

// The transaction's words that valves use too; they are defined with the record, where the rules are.
export type { Channel, LiveCode };

/** What a valve may know about the HTTP request that started the flow (a copy, not the live object). */
export interface FlowRequest {
  ip: string;
  method: string;
  path: string;
  host: string;
  protocol: string;
  language: string;
  headers: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, unknown>>;
  body: Readonly<Record<string, unknown>>;
}

/** A destination after a normalise valve: `address` is E.164 for phones, the lower-cased address for e-mail. */
export interface Destination {
  kind: 'phone' | 'email';
  address: string;
  channel: Channel;
  /** ISO 3166-1 alpha-2, phones only. */
  country?: string;
  /** One of the line-type words of SPEC section 2 (`mobile`, `landline`, ...), phones only. */
  line_type?: string;
}

/** The code policy of the authenticator that runs the flow. */
export interface CodePolicy {
  length: number;
  charset: 'numeric' | 'alphanumeric';
  ttl_seconds: number;
}

/**
 * Well-known keys of `flow.state` that the OTP authenticator and the OTP valves share.
 * Other valves may put anything else there.
 */
export interface OtpFlowState {
  /** The transaction the flow belongs to; code hashes are bound to it. */
  transaction_id?: string;
  /** The destination as configured or entered, before normalisation. */
  destination_input?: string;
  /** Set by PhoneNormalize / EmailNormalize. */
  destination?: Destination;
  /** Set by OtpGenerate: the clear code lives only here, for delivery; the transaction keeps `hash`. */
  code?: { value: string; hash: string };
  /** Set by a delivery valve once the gateway accepted the message. */
  delivered?: { channel: Channel; to: string; at: number };
  /** The code the user entered (validation flows). */
  otp?: string;
  /** The transaction's live codes (validation flows). */
  live_codes?: LiveCode[];
  /** Set by OtpValidate when the entered code matches a live code. */
  matched_code_id?: string;
  [key: string]: unknown;
}

export interface FlowContext {
  /** Trace id of this flow (the IDENTIFIER of events). */
  readonly id: string;
  readonly request: FlowRequest;
  /** The authenticator running the pipe. */
  readonly authenticator: { readonly id: string; readonly type: string; readonly code?: CodePolicy; readonly app_name?: string };
  session: Record<string, unknown>;
  exports: Record<string, unknown>;
  state: OtpFlowState;
  items: unknown[];
  /** Services of the authenticator running the flow; valves call them, they never see the HTTP response. */
  readonly hooks?: FlowHooks;
}

export interface FlowHooks {
  /**
   * Called by every delivery valve right before it hands a message to a gateway: the authenticator checks its
   * send budgets (per destination, IP, country, global) here, once the destination is normalised. A failure
   * (reason `RATE LIMITED`) fails the flow and nothing is sent.
   */
  beforeDelivery?(destination: Destination): Promise<FlowFailure | null>;
}

/** Why a flow failed. `reason` is a stable code such as `DATA CHECK FAILED`. */
export interface FlowFailure {
  reason: string;
  message?: string;
  valve?: string;
}

/** A valve either passes (returns nothing) or fails the flow. */
export type ValveResult = void | undefined | { fail: FlowFailure };

export interface Valve {
  run(ctx: FlowContext): Promise<ValveResult> | ValveResult;
}

/** Services a valve factory may use; given once, when pipes are built. */
export interface ValveDeps {
  /** HMAC keys for codes: the first signs, all verify (OTP_SECRET, comma-separated). */
  otpKeys: readonly string[];
  /** The folder the config file was loaded from, for valves that read files relative to it. */
  configDir: string;
  /** Milliseconds since the epoch; injectable so tests control time. */
  now(): number;
  /** Whether the process runs with NODE_ENV=production. */
  production: boolean;
  /**
   * Told the real error when a valve throws, times out or its condition fails, so the host can log
   * it (through events/); the flow result itself carries only a generic message. `secrets` are what the flow held
   * that must not reach a log (its code, the code entered, the destination as entered and normalised): the error's
   * text may quote them. Optional.
   */
  reportError?(error: unknown, where: { pipe: string; valve: string; reason: string; secrets?: readonly string[] }): void;
  /**
   * The TOTP replay guard of the transaction store (`TransactionStore.claimTotpStep`), shared by every process that
   * shares the store. Without it TotpValidate guards within its own process only.
   */
  claimTotpStep?(secretHash: string, step: number, forgetAt: number): Promise<boolean>;
  /**
   * A subject's enrolled TOTP secret and its parameters, opened from the credential store (TotpValidate with
   * `secret_source: "store"`), or null when the subject has none; and the record of its use.
   */
  enrolledTotp?(subject: string): Promise<{ secret: string; algorithm: 'sha1' | 'sha256' | 'sha512'; digits: 6 | 8; period: number } | null | 'unusable'>;
  usedTotp?(subject: string, at: number): Promise<void>;
  /** Redeems one of the subject's recovery codes (single use, atomic); `traceId` is the flow's, for the events. */
  redeemRecoveryCode?(subject: string, entered: unknown, traceId: string): Promise<{ redeemed: boolean; left: number }>;
  /**
   * Told configuration warnings found when a valve is built (an SMS template that cannot fit one GSM-7 segment,
   * say), so the host can log them once. Optional: without it warnings are dropped.
   */
  warn?(message: string): void;
  /**
   * Renders a message template of the `messages` namespace (`sms.code`, `voice.code`, `email.subject`, ...) in a
   * language, with i18next interpolation and WITHOUT HTML escaping (a valve escapes what it puts into HTML).
   * `values` are i18next options too (`context`, `count`). Optional: without it the valves read
   * `locales/<lng>/messages.json` themselves (src/valves/message-catalogue.ts).
   */
  translate?(lng: string, key: string, values: Record<string, unknown>): string;
  /**
   * An operator's folder of message overlays, laid out like the package's `locales/`: `<lng>/messages.json`,
   * merged key by key over the package's. Used only when `translate` is absent.
   */
  messagesDir?: string;
  /** The configured languages (`i18n.languages`), for checks made when a valve is built. Default: every language with a messages file. */
  languages?: readonly string[];
}

export type ValveFactory<C = Record<string, unknown>> = (config: C, deps: ValveDeps) => Valve;

export interface ValveDefinition {
  name: string;
  description?: string;
  enabled?: boolean;
  exec_if?: string;
  timeout_ms?: number;
  config?: Record<string, unknown>;
}

export interface PipeDefinition {
  id: string;
  description?: string;
  valves: ValveDefinition[];
}

export type FlowResult = { ok: true } | { ok: false; failure: FlowFailure };
