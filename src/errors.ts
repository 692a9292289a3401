/**
 * The one error catalogue. Codes are stable and never reused; each has its HTTP status and a translated
 * message under `errors.<CODE>` in locales/. docs/errors.md lists them (a test checks it).
 */
export const ERRORS = {
  INVALID_OTP: 200,
  MAX_ATTEMPTS: 200,
  OTP_EXPIRED: 200,
  NO_PENDING_CODE: 409,
  RESEND_TOO_SOON: 429,
  MAX_CODES: 409,
  RATE_LIMITED: 429,
  LOCKED: 423,
  INVALID_DESTINATION: 400,
  DESTINATION_NOT_ALLOWED: 403,
  DELIVERY_FAILED: 502,
  MAX_CHANGES: 409,
  MAX_SWITCHES: 409,
  NOT_IN_FLOW: 401,
  BAD_REQUEST: 400,
  CSRF: 403,
  INVALID_CREDENTIALS: 200,
  UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CHANNEL_UNAVAILABLE: 422,
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** Fields an error answer may carry beside `error` (attempts_left, retry_after, aborted, location, ...). */
export type ErrorDetails = Record<string, string | number | boolean | null | undefined>;

export class OtpError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status; 413 and 415 refine BAD_REQUEST for a body too large or of another type. */
  readonly status: number;
  /** Whether the message may be shown to the client: always true for catalogue errors. */
  readonly expose = true;
  readonly details: ErrorDetails;
  /** Interpolation values for the translated message. */
  readonly messageValues: Record<string, string | number>;

  constructor(code: ErrorCode, details: ErrorDetails = {}, options: { status?: number; messageValues?: Record<string, string | number> } = {}) {
    // An OtpError is an answer, not a fault: a wrong code makes one per request, and nobody reads its stack.
    // Capturing it was a measurable share of a `start` (bench/README.md), so none is captured.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(code);
    Error.stackTraceLimit = limit;
    this.name = 'OtpError';
    this.code = code;
    this.status = options.status ?? ERRORS[code];
    this.details = details;
    this.messageValues = options.messageValues ?? {};
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERRORS, value);
}

/**
 * The one error a TransactionStore (or a RateLimits) throws on purpose: it cannot be reached. Not a catalogue code
 * but a fault; the HTTP layer maps it (by its `name`, see `isUnavailable` in src/http/respond.ts) to 503
 * UNAVAILABLE before any other check, so nothing is accepted unchecked while the store is away (SPEC section 7:
 * fail closed, recover by itself).
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(message = 'the transaction store is unreachable', options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof Error && error.name === 'StoreUnavailableError';
}
