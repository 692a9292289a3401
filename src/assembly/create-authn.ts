import { join } from 'node:path';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import session, { type Store as SessionStore } from 'express-session';
import type { AppConfig, Locations, OtpAuthenticatorConfig, PasswordConfig, RecoveryCodesConfig, TotpEnrollConfig } from '../config/types.js';
import { createSecretBox } from '../codes/secret-box.js';
import type { CredentialStore } from '../store/credential-store.js';
import { createCredentials, type Credentials } from '../store/credentials.js';
import { createTotpEnrollRouter } from '../authn/totp-enroll-router.js';
import { createRecoveryCodesRouter } from '../authn/recovery-codes-router.js';
import { authnState } from '../authn/session-state.js';
import { emitEvent } from '../events/bus.js';
import { RECOVERY_CODES_LOW } from '../transaction/index.js';
import { readSecrets, type Secrets } from '../config/secrets.js';
import { log, warnOnce } from '../events/logger.js';
import { redactSecrets } from '../events/redact.js';
import { createHealthRouter } from '../ops/health.js';
import { createMetrics, type Metrics } from '../ops/metrics.js';
import { ProductionRefusedError, productionProblems } from '../ops/production-guards.js';
import { createAdminRouter } from '../ops/unlock.js';
import { createTranslations, type Translations } from '../i18n/setup.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { buildPipes } from '../pipes/pipe.js';
import { createOtpRouter } from '../otp/otp-router.js';
import type { OtpServices } from '../otp/otp-services.js';
import type { TransactionStore } from '../store/types.js';
import { rememberLanguage } from '../i18n/language-cookie.js';
import { WEB_BASE } from '../web/page-context.js';
import { apiSecurityHeaders, securityHeaders } from '../web/security-headers.js';
import { createWebRouter } from '../web/web-router.js';
import { planChains, type Chains } from '../authn/chain.js';
import { authnErrorHandler } from '../http/respond.js';
import { storeBackend, type OidcAdapterClass } from './store-backend.js';
import { mountPaths } from '../config/mount-path.js';
import { formatProblem } from '../config/config-error.js';
import { planSelectors } from '../authn/selector.js';
import { createSelectorRouter } from '../authn/selector-router.js';
import { choiceSettings } from './selector-choices.js';
import { createAuthnStrategy } from '../authn/passport-strategy.js';
import { jsonShortcut } from '../authn/json-shortcut.js';
import { createPasswordRouter } from '../authn/password-router.js';
import { passedFactorFor, standaloneStep, type StepHooks } from '../authn/step.js';
import { refuseChoice } from '../authn/choice-refusal.js';
import { createVerifyApi } from '../api/verify-router.js';

/**
 * Builds every configured authenticator into one Express router. The host app mounts `session` (or its own
 * express-session) before `router`. It serves the built-in types (OTP, Chain, Selector, TotpEnroll, RecoveryCodes, UserNameAndPassword); an entry of a
 * type a host registered (config/authenticator-types.ts) is left for the host to serve, with a warning.
 */
export interface AuthnOptions {
  env?: NodeJS.ProcessEnv;
  /** A store of the host's choosing; default: memory. */
  store?: TransactionStore;
  /** Where enrolled factors live (a host's user database, say); default: beside the store (Redis or memory). */
  credentials?: CredentialStore;
  /** Rate limits per authenticator id; default: memory. */
  limits?: (authenticatorId: string, config: OtpAuthenticatorConfig) => RateLimits;
  sessionStore?: SessionStore;
  now?: () => number;
  /** Step hooks per authenticator id (a Chain supplies these); default: each stands alone. */
  steps?: (authenticatorId: string) => StepHooks | undefined;
}

export interface Authn {
  router: Router;
  /** The server-to-server verification API (verify_api), for the host to mount (the demo: /api/verify). */
  verifyApi?: Router;
  session: RequestHandler;
  store: TransactionStore;
  /** Enrolled factors (the TOTP secret of TotpEnroll), sealed under CREDENTIAL_KEY on the way in. */
  credentials: Credentials;
  /** `/healthz` and `/readyz`, for the host to mount where its load balancer looks. */
  health: Router;
  /** Prometheus metrics (server.metrics): also served at /metrics by `router`. */
  metrics?: Metrics;
  /** Mount last: answers a session-store outage (Redis away) with 503 UNAVAILABLE instead of a bare 500. */
  errorHandler: ErrorRequestHandler;
  /** passport-custom strategy: authenticates a session that completed a chain (register it as STRATEGY_NAME). */
  strategy: ReturnType<typeof createAuthnStrategy>;
  translations: Translations;
  secrets: Secrets;
  /** The configuration it was built from (frozen). */
  config: AppConfig;
  /** The chains' plan: a root chain's steps, and the hook an integration steers a login with (the OIDC one). */
  chains: Pick<Chains, 'root' | 'steer'>;
  /** oidc-provider's adapter on the same store (Redis); absent on memory, where the provider keeps its own. */
  oidcAdapter?: OidcAdapterClass;
  close(): Promise<void>;
}

export function createSessionMiddleware(config: AppConfig, secrets: Secrets, store?: SessionStore): RequestHandler {
  const s = config.server.session;
  return session({
    name: s.cookie_name,
    secret: secrets.sessionSecrets,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    ...(store ? { store } : {}),
    cookie: { httpOnly: true, secure: s.secure, sameSite: s.same_site, maxAge: s.max_age_seconds * 1000, path: '/' },
  });
}

export async function createAuthn(config: AppConfig, options: AuthnOptions = {}): Promise<Authn> {
  const env = options.env ?? process.env;
  const secrets = readSecrets(env);
  const now = options.now ?? Date.now;
  const problems = productionProblems(config, secrets);
  if (env.NODE_ENV === 'production' && problems.length > 0) throw new ProductionRefusedError(problems);
  for (const p of problems) warnOnce(p.key, `${p.message}; refused with NODE_ENV=production`);
  const backend = await storeBackend(config, options, now);
  const store = backend.store;
  const credentials = createCredentials(backend.credentials, createSecretBox(secrets.credentialKeys), secrets.credentialKeys);
  const translations = await createTranslations(config.i18n, config.overlay_dir);
  const pipes = buildPipes(config.pipes, {
    otpKeys: secrets.otpKeys,
    configDir: config.source.dir,
    now,
    production: env.NODE_ENV === 'production',
    warn: (message) => log.warn(message),
    languages: config.i18n.languages,
    ...(config.overlay_dir ? { messagesDir: join(config.overlay_dir, 'locales') } : {}),
    enrolledTotp: (subject: string) => credentials.totp(subject),
    usedTotp: (subject: string, at: number) => credentials.usedTotp(subject, at),
    redeemRecoveryCode: async (subject: string, entered: unknown, traceId: string) => {
      const result = await credentials.redeemRecoveryCode(subject, entered);
      if (result.redeemed) {
        const base = { IDENTIFIER: traceId, CUSTOMER_IDENTIFIER: subject };
        emitEvent('OTP_200019', { codes_left: result.left }, new Date(now()), base);
        if (result.left <= RECOVERY_CODES_LOW) emitEvent('OTP_200020', { codes_left: result.left }, new Date(now()), base);
      }
      return result;
    },
    ...(store.claimTotpStep ? { claimTotpStep: (secretHash: string, step: number, forgetAt: number) => store.claimTotpStep!(secretHash, step, forgetAt) } : {}),
    reportError: (error, where) => log.error(redactSecrets(`pipe ${where.pipe}, valve ${where.valve}: ${where.reason}: ${error instanceof Error ? error.message : String(error)}`, where.secrets ?? [])),
  });
  const appName = typeof config.globals.app_name === 'string' ? config.globals.app_name : undefined;

  for (const warning of config.warnings ?? []) log.warn(`configuration: ${formatProblem(warning)}`);
  const chains = planChains(config);
  const selectors = planSelectors(config.authenticators);
  const paths = mountPaths(config.authenticators);
  const choices = choiceSettings(config, (id, c) => options.limits?.(id, c) ?? backend.limits(id, c), {
    recoveryCodesLeft: (s) => credentials.recoveryCodesLeft(s),
    hasTotp: async (s) => (await credentials.store.getTotp(s)) !== null,
  });
  const lastHandler = authnErrorHandler();
  const router = express.Router();
  const shortcut = jsonShortcut(apiSecurityHeaders(config), lastHandler, translations.remember);
  router.use(shortcut.middleware);
  router.use(translations.middleware);
  router.use(rememberLanguage(config.i18n.languages, config.server.session.secure));
  // Security headers on the authenticators' own paths only, so a host's other routes keep their own policy.
  const headers = securityHeaders(config);
  // Every path mounted so far, in order: the shortcut must not take a request an earlier mount would answer.
  const mounted: string[] = [WEB_BASE, `${WEB_BASE}/admin`];
  router.use(WEB_BASE, headers, createWebRouter(config.overlay_dir, config.server.session.secure));
  // A choice's lockout is kept under its selector's id: the help desk unlocks the selector.
  const otpIds = config.authenticators.filter((a) => a.canonicalType === 'OTP' || a.canonicalType === 'Selector').map((a) => a.id);
  router.use(`${WEB_BASE}/admin`, createAdminRouter(store, otpIds, env.OTP_ADMIN_TOKEN));
  const metrics = config.server.metrics ? createMetrics() : undefined;
  if (metrics) router.get('/metrics', metrics.handler);
  for (const { path, router: chainRouter } of chains.routers()) {
    router.use(path, headers, chainRouter);
    mounted.push(path);
  }
  const ownSteps = new Map<string, StepHooks>();
  const ownStep = (entry: { id: string; config: object }): StepHooks => {
    let step = ownSteps.get(entry.id);
    if (!step) {
      step = options.steps?.(entry.id) ?? chains.stepHooks(entry.id) ?? standaloneStep(entry.id, entry.config);
      ownSteps.set(entry.id, step);
    }
    return step;
  };
  const byId = new Map(config.authenticators.map((a) => [a.id, a]));
  // A factor was passed in this session for the subject when a login finished for it: what replacing an app needs.
  const passedFactor = (req: Request, subjectOf: (exports: Record<string, unknown>) => string) => passedFactorFor(authnState(req), subjectOf);
  for (const entry of config.authenticators) {
    const path = paths.get(entry.id) ?? `/${entry.id}`;
    const owner = selectors.ownerOf(entry.id);
    const selectorStep = owner ? ownStep(byId.get(owner.id)!) : undefined;
    const step = owner && selectorStep ? selectors.choiceHooks(entry.id, entry.config as Locations, selectorStep) : ownStep(entry);
    // A choice admits only the requests its selector allows (available, chosen or a switch within max_switches).
    const guard = owner && selectorStep ? [selectors.guard(entry.id, selectorStep, refuseChoice(config.overlay_dir))] : [];
    if (entry.canonicalType === 'Chain') continue;
    if (entry.canonicalType === 'Selector') {
      const plan = selectors.plans.get(entry.id)!;
      // Not added to `mounted`: it answers its own path only, never a choice's path under it.
      router.use(path, headers, createSelectorRouter(plan, selectors, step, config.overlay_dir));
    } else if (entry.canonicalType === 'TotpEnroll') {
      router.use(path, headers, ...guard, createTotpEnrollRouter(entry.id, entry.config as unknown as TotpEnrollConfig, {
        credentials, now, overlayDir: config.overlay_dir, passedFactor,
        ...(store.claimTotpStep ? { claimTotpStep: (h: string, s: number, f: number) => store.claimTotpStep!(h, s, f) } : {}),
      }, step));
      mounted.push(path);
    } else if (entry.canonicalType === 'RecoveryCodes') {
      router.use(path, headers, ...guard, createRecoveryCodesRouter(entry.id, entry.config as unknown as RecoveryCodesConfig, { credentials, now, overlayDir: config.overlay_dir, passedFactor }, step));
      mounted.push(path);
    } else if (entry.canonicalType === 'UserNameAndPassword') {
      const passwordConfig = entry.config as unknown as PasswordConfig;
      const pipe = pipes.get(passwordConfig.pipe_id);
      if (!pipe) throw new Error(`pipe ${passwordConfig.pipe_id} is not built`);
      router.use(path, headers, ...guard, createPasswordRouter(entry.id, passwordConfig, pipe, step, config.overlay_dir));
      mounted.push(path);
    } else if (entry.canonicalType === 'OTP') {
      const asChoice = choices.get(entry.id);
      const otpConfig = asChoice?.config ?? (entry.config as unknown as OtpAuthenticatorConfig);
      if (otpConfig.web === false) continue;
      const limits = asChoice?.limits ?? options.limits?.(entry.id, otpConfig) ?? backend.limits(entry.id, otpConfig);
      const services: OtpServices = {
        store, limits, pipes, now, overlayDir: config.overlay_dir, credentials, cookieSecure: config.server.session.secure, ...(appName ? { appName } : {}),
      };
      const otp = createOtpRouter(entry.id, otpConfig, services, step, asChoice?.options);
      if (owner) selectors.register(entry.id, otp.choice);
      const json = owner && selectorStep
        ? async (req: Request, res: Response) => { await selectors.admit(req, entry.id, selectorStep); return otp.json(req, res); }
        : otp.json;
      shortcut.add(path, json, mounted);
      router.use(path, headers, ...guard, otp.router);
      mounted.push(path);
    } else {
      log.warn(`authenticator "${entry.id}" of type ${entry.type} is not served: createAuthn serves only the built-in types (OTP, Chain, Selector, TotpEnroll, RecoveryCodes, UserNameAndPassword); mount its router yourself`);
    }
  }
  const verifyApi = config.verify_api ? express.Router().use(apiSecurityHeaders(config), translations.middleware, createVerifyApi({
    config,
    services: { store, pipes, now, overlayDir: config.overlay_dir, credentials, ...(appName ? { appName } : {}) },
    limits: (id, c) => options.limits?.(id, c) ?? backend.limits(id, c),
    otpKeys: secrets.otpKeys,
    languages: config.i18n.languages,
  })) : undefined;
  return {
    router,
    ...(verifyApi ? { verifyApi } : {}),
    session: createSessionMiddleware(config, secrets, options.sessionStore ?? backend.sessionStore),
    // Translated even for a request that never reached the router (a session-store outage at app level).
    errorHandler: (error, req, res, next) => translations.middleware(req, res, () => lastHandler(error, req, res, next)),
    health: createHealthRouter(store),
    ...(metrics ? { metrics } : {}),
    store,
    credentials,
    strategy: createAuthnStrategy(config.authenticators.filter((a) => a.canonicalType === 'Chain').map((a) => a.id)),
    translations,
    secrets,
    config,
    chains,
    ...(backend.oidcAdapter ? { oidcAdapter: backend.oidcAdapter } : {}),
    close: async () => {
      metrics?.stop();
      await backend.credentials.close();
      await store.close();
    },
  };
}
