import type { RateLimits } from '../limits/rate-limits.js';
import type { Pipe } from '../pipes/pipe.js';
import type { TransactionStore } from '../store/types.js';
import type { Credentials } from '../store/credentials.js';

/** What an OTP authenticator is built with: shared by every authenticator of one app. */
export interface OtpServices {
  store: TransactionStore;
  limits: RateLimits;
  pipes: ReadonlyMap<string, Pipe>;
  /** Epoch milliseconds; injectable for tests. */
  now(): number;
  /** `globals.app_name`, for message templates. */
  appName?: string;
  /** An operator's folder of templates and assets (`overlay_dir`). */
  overlayDir?: string | null;
  /** Enrolled factors and trusted browsers (`trust_device`). */
  credentials?: Credentials;
  /** Whether cookies this package sets are `Secure` (server.session.secure). */
  cookieSecure?: boolean;
}
