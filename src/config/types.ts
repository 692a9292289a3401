import type { PipeDefinition } from '../pipes/types.js';
import type { ConfigProblem } from './config-error.js';

/** The configuration after loading, validation and defaults: every defaulted key is present. Frozen. */
export interface SessionConfig {
  cookie_name: string;
  secure: boolean;
  same_site: 'lax' | 'strict' | 'none';
  max_age_seconds: number;
}

export interface ServerConfig {
  port: number;
  trust_proxy: boolean | number | string;
  session: SessionConfig;
  metrics: boolean;
}

export interface StoreConfig {
  type: 'memory' | 'redis';
  /** For type redis, exactly one of url, cluster and sentinel (the schema says so). */
  url?: string;
  cluster?: { root_nodes: string[] };
  sentinel?: { name: string; nodes: string[]; password?: string };
  username?: string;
  password?: string;
  tls?: boolean;
  prefix: string;
}

export interface LoggingConfig {
  level: 'error' | 'warn' | 'info' | 'debug';
  events: { format: 'json' | 'cef'; file: string | null; console: boolean };
}

export interface I18nConfig {
  languages: string[];
  fallback: string;
}

export interface Locations {
  success_location?: string;
  failure_location?: string;
  cancel_location?: string;
}

export interface MountConfig extends Locations {
  base_path?: string;
  context_path?: string;
}

export interface OtpRateLimitsConfig {
  sends_per_destination_per_minute: number;
  sends_per_ip_per_hour: number;
  sends_per_country_per_hour?: number;
  sends_global_per_hour?: number;
  entries_per_transaction_per_minute: number;
  failures_per_subject_per_hour: number;
}

export interface OtpAuthenticatorConfig extends MountConfig {
  pipe_id: string;
  pre_pipe_id?: string;
  allowed_otp_retry: number;
  subject: string;
  custom_identifier?: string;
  reference?: string;
  code: { length: number; charset: 'numeric' | 'alphanumeric'; ttl_seconds: number };
  max_codes: number;
  resend_cooldown_seconds: number;
  resend_strategy: 'keep_previous' | 'new';
  lockout_seconds: number;
  destination: { source?: string; allow_change: boolean; max_changes: number };
  rate_limits: OtpRateLimitsConfig;
  trust_device: { days: number };
  /** false: served only through the verification API (no route of its own). */
  web: boolean;
}

export interface ChainConfig extends MountConfig {
  chain: { id: string; required: boolean }[];
}

export interface SelectorChoiceConfig {
  id: string;
  label?: string;
  available_if?: string;
}

export interface SelectorConfig extends MountConfig {
  choices: SelectorChoiceConfig[];
  default?: string;
  max_switches: number;
}

export interface TotpEnrollConfig extends MountConfig {
  subject: string;
  account: string;
  issuer: string;
  algorithm: 'sha1' | 'sha256' | 'sha512';
  digits: 6 | 8;
  period: number;
  max_attempts: number;
  /** Where an activation leads when the subject has no recovery codes yet (a RecoveryCodes step). */
  recovery_codes_location?: string;
}

export interface RecoveryCodesConfig extends MountConfig {
  subject: string;
}

export interface PasswordConfig extends MountConfig {
  pipe_id: string;
  allowed_retries: number;
  custom_identifier?: string;
}

export interface AuthenticatorEntry<C = Record<string, unknown>> {
  id: string;
  /** The type as written (an alias stays an alias); `canonicalType` is the registered name. */
  type: string;
  canonicalType: string;
  config: C;
}

export interface OidcClientConfig {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  first_party: boolean;
  otp_report: boolean;
  refresh_tokens: boolean;
  name?: string;
}

export interface OidcConfig {
  issuer: string;
  interaction_path: string;
  chain: string;
  /** Weakest first; each names the chain's steps a login must have passed to reach it. */
  acr_values: { value: string; steps: string[] }[];
  default_acr?: string;
  clients: OidcClientConfig[];
  jwks_file?: string;
  ttl_seconds: { session: number; access_token: number; id_token: number; refresh_token: number; interaction: number };
}

export type VerifyScope = 'verifications:create' | 'verifications:check' | 'verifications:read';

export interface VerifyApiKeyConfig {
  key_id: string;
  secret?: string;
  secret_sha256?: string;
  authenticator: string;
  scopes: VerifyScope[];
  requests_per_minute: number;
  allow_message: boolean;
  callback_url?: string;
  callback_secret?: string;
  callback_retry: { max_attempts: number; within_seconds: number };
}

export interface AppConfig {
  /** The file the configuration was loaded from, for messages, and its folder, for relative paths. */
  source: { file: string; dir: string };
  globals: Record<string, unknown>;
  server: ServerConfig;
  store: StoreConfig;
  logging: LoggingConfig;
  i18n: I18nConfig;
  overlay_dir: string | null;
  pipes: PipeDefinition[];
  authenticators: AuthenticatorEntry[];
  /** The OpenID Connect provider whose login is a chain (src/integrations/oidc-provider.ts); null without one. */
  oidc: OidcConfig | null;
  /** The server-to-server verification API (src/api/); null without one. */
  verify_api: { keys: VerifyApiKeyConfig[]; phonematch: { default_country?: string } } | null;
  /** What check-config prints as a warning and the server logs at start (a setting that is ignored, say). */
  warnings?: readonly ConfigProblem[];
}
