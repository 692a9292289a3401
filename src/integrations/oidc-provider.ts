import express, { type Request, type Response, type Router } from 'express';
import Provider, { errors, interactionPolicy, type Configuration, type Interaction, type KoaContextWithOIDC } from 'oidc-provider';
import type { Authn } from '../assembly/create-authn.js';
import type { OidcClientConfig, OidcConfig } from '../config/types.js';
import { log } from '../events/logger.js';
import { csrfToken, readCsrfCheckedBody } from '../http/csrf.js';
import { authnErrorHandler } from '../http/respond.js';
import { authnState, peekAuthnState } from '../authn/session-state.js';
import { pageContext } from '../web/page-context.js';
import { securityHeaders } from '../web/security-headers.js';
import { renderConsentPage, renderInteractionGonePage } from '../web/consent-page.js';
import { amrOf, targetAcr, type AmrStep } from './oidc-amr.js';
import { idTokenAlgorithm, signingKeys } from './oidc-keys.js';
import { reportStore, type ReportStore } from './oidc-reports.js';

/**
 * The login Chain as the interaction of an `oidc-provider` instance (issue 23). `createOidcProvider(authn)` builds
 * the provider from the config's `oidc` block; `createOidcLogin(authn, provider)` serves its interaction at
 * `oidc.interaction_path`: the chain runs as it does for the host's own login, and when it has passed the steps
 * of the acr the client needs, the provider gets `login: { accountId, amr, acr, ts }`. A client asking for a
 * stronger acr than the session has gets only the missing steps; `prompt=login` and `max_age` run the whole chain
 * again, with trusted browsers ignored. Cancel, an abort and a failed login answer the client `access_denied`.
 */

/** The interaction a chain is running for, in the host's session (one at a time per browser). */
interface PendingLogin {
  uid: string;
  client_id: string;
  acr: string;
  steps: string[];
  /** When the provider forgets the interaction (epoch ms): a pending login older than that steers nothing. */
  expires_at: number;
}

declare module 'express-session' {
  interface SessionData {
    oidc_login?: PendingLogin;
  }
}

const setups = new WeakMap<Authn, { oidc: OidcConfig; reports: ReportStore }>();

function oidcOf(authn: Authn): OidcConfig {
  const oidc = authn.config.oidc;
  if (!oidc) throw new Error('otp-authenticator: the configuration has no "oidc" block');
  return oidc;
}

/** A redirect URI starting with / is on the issuer's own origin (the demo's relying party). */
function absolute(uri: string, issuer: string): string {
  if (!uri.startsWith('/')) return uri;
  const url = new URL(uri, issuer);
  // URL parsing reads "/\\host" as another host: a path must stay on the issuer's origin.
  if (url.origin !== new URL(issuer).origin) throw new Error(`oidc: redirect URI ${JSON.stringify(uri)} leaves the issuer's origin`);
  return url.href;
}

function clientMetadata(c: OidcClientConfig, issuer: string, alg: string): Record<string, unknown> {
  const scopes = ['openid', 'profile', ...(c.otp_report ? ['otp_report'] : []), ...(c.refresh_tokens ? ['offline_access'] : [])];
  return {
    client_id: c.client_id,
    ...(c.client_secret ? { client_secret: c.client_secret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
    redirect_uris: c.redirect_uris.map((u) => absolute(u, issuer)),
    grant_types: ['authorization_code', ...(c.refresh_tokens ? ['refresh_token'] : [])],
    response_types: ['code'],
    id_token_signed_response_alg: alg,
    // An allow-list: a client asking for a scope not on it gets invalid_scope.
    scope: scopes.join(' '),
    ...(c.name ? { client_name: c.name } : {}),
  };
}

/** Cookie signing keys of the provider: OIDC_COOKIE_KEYS (comma-separated, the first signs), else development. */
const DEV_COOKIE_KEY = 'otp-authenticator-dev-oidc-cookie-key-do-not-use-in-production';
export function cookieKeys(env: NodeJS.ProcessEnv): { keys: string[]; development: boolean } {
  const keys = (env.OIDC_COOKIE_KEYS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return keys.length > 0 ? { keys, development: false } : { keys: [DEV_COOKIE_KEY], development: true };
}

/** What an authorisation request asks of the acr: essential values (claims parameter), then voluntary ones. */
function requestedAcr(params: Record<string, unknown>): { essential: string[]; voluntary: string[] } {
  const essential: string[] = [];
  const voluntary: string[] = [];
  const fromClaim = (c: { essential?: boolean; value?: unknown; values?: unknown } | undefined) => {
    if (!c) return;
    const values = [...(typeof c.value === 'string' ? [c.value] : []), ...(Array.isArray(c.values) ? c.values.filter((v): v is string => typeof v === 'string') : [])];
    (c.essential ? essential : voluntary).push(...values);
  };
  if (typeof params.claims === 'string') {
    try {
      fromClaim((JSON.parse(params.claims) as { id_token?: { acr?: Parameters<typeof fromClaim>[0] } }).id_token?.acr);
    } catch { /* the provider refused malformed claims before an interaction */ }
  }
  if (typeof params.acr_values === 'string') voluntary.push(...params.acr_values.split(' ').filter(Boolean));
  return { essential, voluntary };
}

/** The host's session as express-session left it on the request (mounted before the provider), or undefined. */
function hostSession(ctx: KoaContextWithOIDC): { authn?: { exports?: Record<string, unknown> }; passport?: unknown; oidc_login?: unknown } | undefined {
  return (ctx.req as unknown as { session?: ReturnType<typeof hostSession> }).session;
}

/**
 * The base policy, plus two checks of a session the provider would otherwise reuse: the acr this request needs
 * (its acr_values, a voluntary acr claim, or default_acr) is stronger than the session's: log in (step-up); and
 * the host's own login of that user has ended (signed out of the site, or never there): log in again.
 */
function loginPolicy(oidc: OidcConfig): interactionPolicy.DefaultPolicy {
  const { base, Check } = interactionPolicy;
  const policy = base();
  const rank = (v: unknown) => oidc.acr_values.findIndex((a) => a.value === v);
  policy.get('login')!.checks.add(new Check('acr_unmet', 'the session\'s acr is weaker than the request needs', 'login_required', (ctx) => {
    if (!ctx.oidc.session?.accountId || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    const target = targetAcr(oidc.acr_values, oidc.default_acr, requestedAcr((ctx.oidc.params ?? {}) as Record<string, unknown>));
    if (target === 'unmet') return Check.NO_NEED_TO_PROMPT; // the essential_acr check asks; the interaction refuses
    return rank(ctx.oidc.acr) < rank(target.value) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
  }));
  policy.get('login')!.checks.add(new Check('host_login_ended', 'the site\'s own login of the user has ended', 'login_required', (ctx) => {
    const account = ctx.oidc.session?.accountId;
    if (!account || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    const host = hostSession(ctx);
    if (host === undefined) return Check.NO_NEED_TO_PROMPT; // express-session not mounted before the provider
    return host.authn?.exports?.username === account ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  }));
  return policy;
}

/**
 * The oidc-provider configuration for the `oidc` block. `overrides` are merged over it (a host's own
 * features, say); the parts the login depends on (interactions, findAccount, claims) are best left alone.
 */
export function oidcConfiguration(authn: Authn, env: NodeJS.ProcessEnv = process.env, overrides: Partial<Configuration> = {}): Configuration {
  const oidc = oidcOf(authn);
  const keys = signingKeys(oidc.jwks_file, authn.config.source.dir, env);
  const cookies = cookieKeys(env);
  // The development keys are warned about once, and refused in production, by createAuthn (ops/production-guards).
  const reports = reportStore(authn.oidcAdapter);
  setups.set(authn, { oidc, reports });
  const firstParty = new Set(oidc.clients.filter((c) => c.first_party).map((c) => c.client_id));
  const alg = idTokenAlgorithm(keys.keys);
  const secure = authn.config.server.session.secure;
  return {
    ...(authn.oidcAdapter ? { adapter: authn.oidcAdapter as unknown as Configuration['adapter'] } : {}),
    clients: oidc.clients.map((c) => clientMetadata(c, oidc.issuer, alg)) as unknown as Configuration['clients'],
    jwks: { keys: keys.keys } as unknown as Configuration['jwks'],
    acrValues: oidc.acr_values.map((a) => a.value),
    // Listed under openid so every ID token carries them (by default they come only when asked for).
    claims: { acr: null, amr: null, auth_time: null, sid: null, openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['name'], otp_report: ['otp_report'] },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    pkce: { required: () => true },
    cookies: {
      keys: cookies.keys,
      long: { httpOnly: true, sameSite: 'lax', secure },
      short: { httpOnly: true, sameSite: 'lax', secure },
    },
    ttl: {
      Session: oidc.ttl_seconds.session,
      AccessToken: oidc.ttl_seconds.access_token,
      IdToken: oidc.ttl_seconds.id_token,
      RefreshToken: oidc.ttl_seconds.refresh_token,
      Interaction: oidc.ttl_seconds.interaction,
      Grant: oidc.ttl_seconds.session,
      AuthorizationCode: 60,
    },
    interactions: { policy: loginPolicy(oidc), url: (_ctx: KoaContextWithOIDC, interaction: Interaction) => `${oidc.interaction_path}/${interaction.uid}` },
    async findAccount(ctx, sub, token) {
      // The report (whole destinations) only for a client configured for it, however the claim was asked for.
      const clientId = ctx.oidc.client?.clientId ?? (token as { clientId?: string } | undefined)?.clientId;
      const mayReport = oidc.clients.some((c) => c.client_id === clientId && c.otp_report);
      return {
        accountId: sub,
        async claims() {
          const sessionUid = (token as { sessionUid?: string } | undefined)?.sessionUid;
          const report = mayReport && sessionUid ? await reports.get(sessionUid) : undefined;
          return { sub, name: sub, ...(report ? { otp_report: report } : {}) };
        },
      };
    },
    // First-party clients: consent is granted here, silently, for what they asked (their scope list limits it).
    async loadExistingGrant(ctx) {
      const clientId = ctx.oidc.client!.clientId;
      const grantId = (ctx.oidc.result?.consent as { grantId?: string } | undefined)?.grantId ?? ctx.oidc.session!.grantIdFor(clientId);
      const found = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!firstParty.has(clientId)) return found;
      const grant = found ?? new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
      // otp_report may be in the grant: findAccount releases it only to a client configured for it.
      if (ctx.oidc.requestParamClaims.size > 0) grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    // A client with refresh_tokens gets one without the offline_access consent dance.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Never a stack trace or internal message to the browser: the OAuth error and its description only.
    async renderError(ctx, out) {
      ctx.type = 'html';
      const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><h1>Sign-in error</h1><p id="oidc-error">${esc(out.error)}</p><p>${esc(out.error_description)}</p></body></html>`;
    },
    ...overrides,
  } as Configuration;
}

/** The provider for the `oidc` block; mount `provider.callback()` at the issuer's path. */
export function createOidcProvider(authn: Authn, env: NodeJS.ProcessEnv = process.env, overrides: Partial<Configuration> = {}): Provider {
  const oidc = oidcOf(authn);
  const provider = new Provider(oidc.issuer, oidcConfiguration(authn, env, overrides));
  // Behind the proxy the host trusts (server.trust_proxy), the provider reads X-Forwarded-Proto/Host as Express does.
  provider.proxy = authn.config.server.trust_proxy !== false && authn.config.server.trust_proxy !== 0;
  provider.on('server_error', (_ctx, error) => log.error(`oidc-provider: ${error.message}`));
  // Logged out at the provider (every client): the site's own login of that browser ends too.
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const host = hostSession(ctx);
    if (!host || !(ctx.oidc.params as { logout?: unknown } | undefined)?.logout) return;
    delete host.authn;
    delete host.passport;
    delete host.oidc_login;
  });
  return provider;
}

/** The steps of the chain with their types, for amr. */
function chainSteps(authn: Authn, oidc: OidcConfig): AmrStep[] {
  const leaves = authn.chains.root(oidc.chain)?.leaves ?? [];
  const types = new Map(authn.config.authenticators.map((a) => [a.id, a.canonicalType]));
  return leaves.map((id) => ({ id, type: types.get(id) ?? '' }));
}

/** Renews the session id at login, keeping its data (a fixation defence, as passport's login does). */
function renewSession(req: Request): Promise<void> {
  const { cookie: _cookie, ...data } = req.session as unknown as Record<string, unknown>;
  return new Promise((resolve, reject) => req.session.regenerate((error) => {
    if (error) return reject(error);
    Object.assign(req.session, data);
    resolve();
  }));
}

export function createOidcLogin(authn: Authn, provider: Provider): Router {
  const setup = setups.get(authn);
  if (!setup) throw new Error('otp-authenticator: make the provider with createOidcProvider(authn) (or oidcConfiguration(authn)) first');
  const { oidc, reports } = setup;
  const base = oidc.interaction_path;
  const root = authn.chains.root(oidc.chain);
  if (!root) throw new Error(`otp-authenticator: oidc.chain "${oidc.chain}" is not a chain of its own`);
  const steps = chainSteps(authn, oidc);
  const clients = new Map(oidc.clients.map((c) => [c.client_id, c]));
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const completeUrl = (uid: string) => `${base}/${uid}/complete`;
  /** The steps this session passed: done, and not skipped (an optional step cancelled passes no factor). */
  const passed = (req: Request): string[] => {
    const state = authnState(req);
    return state.completed.filter((id) => !(state.skipped ?? []).includes(id));
  };
  const done = (req: Request, pending: PendingLogin) => pending.steps.every((s) => passed(req).includes(s));
  /** The interaction this browser's chain runs for; an expired one is dropped (it steers nothing any more). */
  const pendingOf = (req: Request): PendingLogin | undefined => {
    const pending = req.session?.oidc_login;
    if (pending && pending.expires_at <= Date.now()) delete req.session.oidc_login;
    return req.session?.oidc_login;
  };
  /** Forgets the login of this session (the chain's steps and the host's passport login): a new one starts. */
  const startOver = (req: Request, fresh: boolean) => {
    delete req.session.authn;
    delete (req.session as unknown as { passport?: unknown }).passport;
    if (fresh) authnState(req).fresh_login = true;
  };

  authn.chains.steer({
    // The chain started at its own path without this interaction's mark: the host's own login, not the client's.
    onStart(req, rootId) {
      const pending = pendingOf(req);
      if (rootId === oidc.chain && pending && req.query.oidc !== pending.uid) delete req.session.oidc_login;
    },
    async afterStep(req, rootId) {
      const pending = pendingOf(req);
      if (rootId !== oidc.chain || !pending) return null;
      return done(req, pending) ? completeUrl(pending.uid) : null;
    },
    locations(req, rootId) {
      const pending = req.session ? pendingOf(req) : undefined;
      if (rootId !== oidc.chain || !pending) return null;
      return { failure: `${base}/${pending.uid}/abort?reason=failed`, cancel: `${base}/${pending.uid}/abort?reason=cancelled` };
    },
  });

  const router = express.Router();
  router.use(base, securityHeaders(authn.config), authn.translations.middleware, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const gone = (req: Request, res: Response) => {
    res.status(400).type('html').send(renderInteractionGonePage(pageContext(req), authn.config.overlay_dir));
  };
  /** The interaction of this browser (its cookie), and the uid of the path: they must agree. */
  const interaction = async (req: Request, res: Response): Promise<Interaction | null> => {
    try {
      const details = await provider.interactionDetails(req, res);
      return details.uid === req.params.uid ? details : null;
    } catch (error) {
      if (error instanceof errors.SessionNotFound) return null;
      throw error;
    }
  };
  const deny = (req: Request, res: Response, description: string) => {
    delete req.session.oidc_login;
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: description }, { mergeWithLastSubmission: false });
  };

  router.get(`${base}/:uid`, async (req, res) => {
    const details = await interaction(req, res);
    if (!details) return gone(req, res);
    const client = clients.get(details.params.client_id as string);
    if (details.prompt.name === 'consent') {
      if (client?.first_party) return provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true });
      const scopes = String(details.params.scope ?? '').split(' ').filter(Boolean);
      // The claims asked for beside the scopes; otp_report only where the client may have it (else it never gets it).
      const asked = ((details.prompt.details as { missingOIDCClaims?: string[] }).missingOIDCClaims ?? [])
        .filter((c) => !['sub', 'acr', 'amr', 'auth_time', 'sid'].includes(c) && (c !== 'otp_report' || client?.otp_report));
      return res.type('html').send(renderConsentPage({
        ctx: pageContext(req), overlayDir: authn.config.overlay_dir, action: `${base}/${details.uid}/consent`, client: client?.name ?? client?.client_id ?? '',
        scopes: [...new Set([...scopes, ...asked])],
      }));
    }
    const target = targetAcr(oidc.acr_values, oidc.default_acr, requestedAcr(details.params as Record<string, unknown>));
    if (target === 'unmet') {
      return provider.interactionFinished(req, res, { error: 'unmet_authentication_requirements', error_description: 'the requested acr is not offered' }, { mergeWithLastSubmission: false });
    }
    const reasons = details.prompt.reasons;
    const fresh = reasons.includes('login_prompt') || reasons.includes('max_age');
    // The client names its user (id_token_hint, a sub claim): whoever this session's login is, it logs in again.
    const named = reasons.includes('id_token_hint') || reasons.includes('claims_id_token_sub_value');
    const subject = peekAuthnState(req)?.exports.username;
    const account = details.session?.accountId;
    if (fresh || named || (account && typeof subject === 'string' && subject !== account)) startOver(req, fresh || named);
    const pending: PendingLogin = {
      uid: details.uid, client_id: String(details.params.client_id), acr: target.value, steps: [...target.steps],
      expires_at: Date.now() + oidc.ttl_seconds.interaction * 1000,
    };
    req.session.oidc_login = pending;
    // An SSO session that already passed the steps (the host's own login, say) completes at once.
    return res.redirect(303, done(req, pending) ? completeUrl(details.uid) : `${root.path}?oidc=${encodeURIComponent(details.uid)}`);
  });

  router.get(`${base}/:uid/complete`, async (req, res) => {
    const details = await interaction(req, res);
    const pending = pendingOf(req);
    if (!details || !pending || pending.uid !== details.uid) return gone(req, res);
    if (!done(req, pending)) return res.redirect(303, `${root.path}?oidc=${encodeURIComponent(pending.uid)}`);
    const state = authnState(req);
    const subject = state.exports.username;
    if (typeof subject !== 'string' || !subject) return gone(req, res);
    const client = clients.get(pending.client_id);
    const through = passed(req);
    // auth_time: when the last of the acr's steps was passed (an earlier login of the site keeps its own time).
    const times = pending.steps.map((s) => state.passed_at?.[s]).filter((t): t is number => typeof t === 'number');
    const login = {
      accountId: subject,
      amr: amrOf(steps, through, state.exports),
      // The acr asked for (its steps are passed): an essential value must come back as it was asked.
      acr: pending.acr,
      ts: seconds(times.length > 0 ? Math.max(...times) : Date.now()),
      remember: true,
    };
    const report = client?.otp_report ? state.exports.otp_report : undefined;
    delete req.session.oidc_login;
    delete state.fresh_login;
    await renewSession(req);
    csrfToken(req, true);
    // The report rides in the result; the provider's middleware below keeps it under the session's uid.
    return provider.interactionFinished(req, res, { login, otp_report: report ?? null }, { mergeWithLastSubmission: false });
  });

  router.get(`${base}/:uid/abort`, async (req, res) => {
    const details = await interaction(req, res);
    const pending = pendingOf(req);
    if (!details || !pending || pending.uid !== details.uid) return gone(req, res);
    return deny(req, res, req.query.reason === 'cancelled' ? 'the user cancelled the login' : 'the login failed');
  });

  router.post(`${base}/:uid/consent`, async (req, res) => {
    const { body } = await readCsrfCheckedBody(req, res);
    const details = await interaction(req, res);
    if (!details || details.prompt.name !== 'consent') return gone(req, res);
    const decision = (body as { decision?: unknown } | undefined)?.decision;
    if (decision !== 'allow') return deny(req, res, 'the user did not allow the client');
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
    if (!grant) return gone(req, res);
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    // As for first-party clients: a claim in the grant is released only as findAccount allows (otp_report).
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  });

  // Where the login resumes at the provider, its session (and uid, which the tokens carry) exists: keep the report.
  provider.use(async (ctx, next) => {
    await next();
    const result = ctx.oidc?.result as { login?: unknown; otp_report?: unknown } | undefined;
    const uid = ctx.oidc?.session?.uid;
    if (ctx.oidc?.route !== 'resume' || !result?.login || !uid) return;
    if (result.otp_report) await reports.set(uid, result.otp_report, oidc.ttl_seconds.session);
    else await reports.clear(uid);
  });

  // A client's mistake (a bad body, a forged CSRF token) is the catalogue's 4xx, as on every other form; the
  // rest a 500 without details (the error is logged).
  router.use(base, authnErrorHandler());
  return router;
}
