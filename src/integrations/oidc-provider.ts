import express, { type Request, type Response, type Router } from 'express';
import Provider, { errors, interactionPolicy, type Configuration, type Interaction, type KoaContextWithOIDC } from 'oidc-provider';
import type { Authn } from '../assembly/create-authn.js';
import type { OidcClientConfig, OidcConfig } from '../config/types.js';
import { log } from '../events/logger.js';
import { readCsrfCheckedBody } from '../http/csrf.js';
import { authnErrorHandler } from '../http/respond.js';
import { authnState, peekAuthnState } from '../authn/session-state.js';
import { pageContext } from '../web/page-context.js';
import { securityHeaders } from '../web/security-headers.js';
import { renderConsentPage, renderInteractionGonePage } from '../web/consent-page.js';
import { amrOf, reachedAcr, targetAcr, type AmrStep } from './oidc-amr.js';
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
  /** When the last step of this login was passed (the ID token's auth_time), seconds. */
  auth_time: number | null;
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
  return uri.startsWith('/') ? new URL(uri, issuer).href : uri;
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

/** The base policy, plus: a voluntary `acr_values` the session does not have asks for a login (step-up). */
function loginPolicy(oidc: OidcConfig): interactionPolicy.DefaultPolicy {
  const { base, Check } = interactionPolicy;
  const policy = base();
  policy.get('login')!.checks.add(new Check('acr_values_unmet', 'the requested acr is not the session\'s', 'login_required', (ctx) => {
    const wanted = (ctx.oidc.params?.acr_values as string | undefined)?.split(' ').filter((v) => oidc.acr_values.some((a) => a.value === v)) ?? [];
    if (wanted.length === 0 || !ctx.oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
    // Just back from a login: take what it reached (voluntary), never loop.
    if (ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    return wanted.includes(ctx.oidc.acr as string) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
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
    async findAccount(_ctx, sub, token) {
      return {
        accountId: sub,
        async claims() {
          const sessionUid = (token as { sessionUid?: string } | undefined)?.sessionUid;
          const report = sessionUid ? await reports.get(sessionUid) : undefined;
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
  return provider;
}

/** The steps of the chain with their types, for amr. */
function chainSteps(authn: Authn, oidc: OidcConfig): AmrStep[] {
  const leaves = authn.chains.root(oidc.chain)?.leaves ?? [];
  const types = new Map(authn.config.authenticators.map((a) => [a.id, a.canonicalType]));
  return leaves.map((id) => ({ id, type: types.get(id) ?? '' }));
}

/** What the authorisation request asks of the acr: essential values (claims parameter), then voluntary ones. */
function requestedAcr(details: Interaction): { essential: string[]; voluntary: string[] } {
  const essential: string[] = [];
  const voluntary: string[] = [];
  const fromClaim = (c: { essential?: boolean; value?: unknown; values?: unknown } | undefined) => {
    if (!c) return;
    const values = [...(typeof c.value === 'string' ? [c.value] : []), ...(Array.isArray(c.values) ? c.values.filter((v): v is string => typeof v === 'string') : [])];
    (c.essential ? essential : voluntary).push(...values);
  };
  const params = details.params as Record<string, unknown>;
  if (typeof params.claims === 'string') {
    try {
      fromClaim((JSON.parse(params.claims) as { id_token?: { acr?: Parameters<typeof fromClaim>[0] } }).id_token?.acr);
    } catch { /* the provider refused malformed claims before an interaction */ }
  }
  if (typeof params.acr_values === 'string') voluntary.push(...params.acr_values.split(' ').filter(Boolean));
  return { essential, voluntary };
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
  const now = () => Math.floor(Date.now() / 1000);
  const completeUrl = (uid: string) => `${base}/${uid}/complete`;
  const done = (req: Request, pending: PendingLogin) => pending.steps.every((s) => authnState(req).completed.includes(s));

  authn.chains.steer({
    async afterStep(req, rootId) {
      const pending = req.session.oidc_login;
      if (rootId !== oidc.chain || !pending) return null;
      pending.auth_time = now();
      return done(req, pending) ? completeUrl(pending.uid) : null;
    },
    locations(req, rootId) {
      const pending = req.session?.oidc_login;
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
      return res.type('html').send(renderConsentPage({
        ctx: pageContext(req), overlayDir: authn.config.overlay_dir, action: `${base}/${details.uid}/consent`, client: client?.name ?? client?.client_id ?? '', scopes,
      }));
    }
    const target = targetAcr(oidc.acr_values, oidc.default_acr, requestedAcr(details));
    if (target === 'unmet') {
      return provider.interactionFinished(req, res, { error: 'unmet_authentication_requirements', error_description: 'the requested acr is not offered' }, { mergeWithLastSubmission: false });
    }
    const reasons = details.prompt.reasons;
    const fresh = reasons.includes('login_prompt') || reasons.includes('max_age');
    const state = peekAuthnState(req);
    const subject = state?.exports.username;
    const account = details.session?.accountId;
    // Start over when the client demands a fresh login, or the provider's user is not the one of this session.
    if (fresh || (account && typeof subject === 'string' && subject !== account)) {
      delete req.session.authn;
      if (fresh) authnState(req).fresh_login = true;
    }
    req.session.oidc_login = { uid: details.uid, client_id: String(details.params.client_id), acr: target.value, steps: [...target.steps], auth_time: null };
    // An SSO session that already passed the steps (the host's own login, say) completes at once.
    return res.redirect(303, done(req, req.session.oidc_login) ? completeUrl(details.uid) : root.path);
  });

  router.get(`${base}/:uid/complete`, async (req, res) => {
    const details = await interaction(req, res);
    const pending = req.session.oidc_login;
    if (!details || !pending || pending.uid !== details.uid) return gone(req, res);
    if (!done(req, pending)) return res.redirect(303, root.path);
    const state = authnState(req);
    const subject = state.exports.username;
    if (typeof subject !== 'string' || !subject) return gone(req, res);
    const client = clients.get(pending.client_id);
    const completed = state.completed;
    const login = {
      accountId: subject,
      amr: amrOf(steps, completed, state.exports),
      acr: reachedAcr(oidc.acr_values, completed) ?? pending.acr,
      ts: pending.auth_time ?? now(),
      remember: true,
    };
    const report = client?.otp_report ? state.exports.otp_report : undefined;
    delete req.session.oidc_login;
    delete state.fresh_login;
    await renewSession(req);
    // The report rides in the result; the provider's middleware below keeps it under the session's uid.
    return provider.interactionFinished(req, res, { login, otp_report: report ?? null }, { mergeWithLastSubmission: false });
  });

  router.get(`${base}/:uid/abort`, async (req, res) => {
    const details = await interaction(req, res);
    const pending = req.session.oidc_login;
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
