/**
 * Every event the product emits, in one place. Ids are stable and never reused; docs/events.md lists them
 * (a test checks that every id here is documented there).
 * WEB_1000xx keep the ids and names of the original product; OTP_2000xx are this project's own.
 */
export interface EventSpec {
  name: string;
  /** CEF severity, 0 (lowest) to 10. */
  severity: number;
}

export const EVENTS = {
  WEB_100017: { name: 'User authenticated', severity: 3 },
  WEB_100018: { name: 'User authentication failed', severity: 5 },
  WEB_100019: { name: 'OTP validated', severity: 3 },
  WEB_100020: { name: 'OTP validation failed', severity: 5 },
  OTP_200001: { name: 'OTP transaction started', severity: 2 },
  OTP_200002: { name: 'OTP code sent', severity: 3 },
  OTP_200003: { name: 'OTP send failed', severity: 6 },
  OTP_200004: { name: 'OTP send suppressed by policy', severity: 5 },
  OTP_200005: { name: 'OTP code resent', severity: 3 },
  OTP_200006: { name: 'OTP destination changed', severity: 4 },
  OTP_200007: { name: 'OTP entry refused', severity: 5 },
  OTP_200008: { name: 'OTP process aborted', severity: 7 },
  OTP_200009: { name: 'OTP subject locked out', severity: 7 },
  OTP_200010: { name: 'OTP code expired', severity: 4 },
  OTP_200011: { name: 'OTP rate limited', severity: 6 },
  OTP_200012: { name: 'OTP cancelled', severity: 3 },
  OTP_200013: { name: 'OTP destination invalid', severity: 4 },
  OTP_200014: { name: 'OTP lockout lifted', severity: 4 },
  OTP_200015: { name: 'OTP method chosen', severity: 2 },
  OTP_200016: { name: 'OTP method switched', severity: 4 },
  OTP_200017: { name: 'OTP authenticator app enrolled', severity: 4 },
  OTP_200018: { name: 'OTP recovery codes generated', severity: 4 },
  OTP_200019: { name: 'OTP recovery code used', severity: 5 },
  OTP_200020: { name: 'OTP recovery codes running low', severity: 5 },
  OTP_200021: { name: 'OTP browser trusted', severity: 4 },
  OTP_200022: { name: 'OTP trusted browser recognised', severity: 3 },
  OTP_200023: { name: 'OTP webhook delivered', severity: 3 },
  OTP_200024: { name: 'OTP webhook attempt failed', severity: 5 },
} as const satisfies Record<string, EventSpec>;

export type EventId = keyof typeof EVENTS;

/** The fields every event carries (SPEC section 4); event-specific fields come beside them. */
export interface EventFields {
  /** The flow's trace id. */
  IDENTIFIER: string;
  CUSTOMER_IDENTIFIER?: string;
  SOURCE_ADDRESS?: string;
  AUTHENTICATOR_IDENTIFIER?: string;
  [field: string]: string | number | boolean | null | undefined | Record<string, unknown>;
}

export interface EventRecord extends EventFields {
  event_id: EventId;
  name: string;
  timestamp: string;
}
