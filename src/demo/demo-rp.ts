import express, { type Request, type Response, type Router } from 'express';
import * as client from 'openid-client';
import type { OidcConfig } from '../config/types.js';
import { escapeHtml, renderShell } from '../web/html.js';
import { pageContext } from '../web/page-context.js';

/**
 * The demo's relying party at /rp: an application that trusts the demo SSO through OpenID Connect, built with
 * openid-client (authorization code + PKCE, state and nonce checked). Pinned for scripts: `GET /rp/login` starts
 * a sign-in (`?acr=mfa` or `?acr=pwd` asks for that acr, `?prompt=login` forces a new login), `/rp/callback` is
 * its redirect URI and ends on `/rp`, `GET /rp/claims` answers the last sign-in's verified ID token claims
 * (401 before any). It keeps its state in the browser's session, as a real application would in its own.
 */
interface RpState {
  pending?: { verifier: string; state: string; nonce: string; max_age?: number };
  claims?: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
  error?: { error: string; error_description?: string };
}

declare module 'express-session' {
  interface SessionData {
    rp?: RpState;
  }
}

export const DEMO_CLIENT_ID = 'demo-rp';
const ACR: Record<string, string> = { mfa: 'urn:otp:mfa', pwd: 'urn:otp:pwd' };

export function createDemoRp(oidc: OidcConfig): Router {
  const registered = oidc.clients.find((c) => c.client_id === DEMO_CLIENT_ID);
  if (!registered?.client_secret) throw new Error(`the demo relying party needs the client "${DEMO_CLIENT_ID}" with a client_secret in oidc.clients`);
  const secret = registered.client_secret;
  const redirectUri = new URL('/rp/callback', oidc.issuer).href;
  const insecure = oidc.issuer.startsWith('http://');
  // Discovered on first use: at start-up the provider (this very server) is not listening yet.
  let discovered: Promise<client.Configuration> | null = null;
  const configuration = (): Promise<client.Configuration> => {
    discovered ??= client.discovery(new URL(oidc.issuer), DEMO_CLIENT_ID, { client_secret: secret }, client.ClientSecretBasic(secret),
      insecure ? { execute: [client.allowInsecureRequests] } : undefined).catch((error: unknown) => {
      discovered = null;
      throw error;
    });
    return discovered;
  };

  const router = express.Router();
  router.use((req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/', (req, res) => {
    const rp = req.session.rp ?? {};
    const t = req.t;
    const claims = rp.claims ? `<h2>${escapeHtml(t('rp.claims'))}</h2><pre id="rp-claims">${escapeHtml(JSON.stringify(rp.claims, null, 2))}</pre>` : '';
    const report = rp.userinfo?.otp_report ? `<h2>${escapeHtml(t('rp.report'))}</h2><pre id="rp-report">${escapeHtml(JSON.stringify(rp.userinfo.otp_report, null, 2))}</pre>` : '';
    const error = rp.error ? `<p id="rp-error" role="alert" class="error">${escapeHtml(rp.error.error)}${rp.error.error_description ? `: ${escapeHtml(rp.error.error_description)}` : ''}</p>` : '';
    const body = `<h1>${escapeHtml(t('rp.title'))}</h1>
<p>${escapeHtml(t('rp.intro'))}</p>
${error}
<p><a id="rp-sign-in" class="primary-action" href="/rp/login">${escapeHtml(t('rp.sign_in'))}</a></p>
<p><a id="rp-sign-in-pwd" href="/rp/login?acr=pwd">${escapeHtml(t('rp.sign_in_pwd'))}</a> · <a id="rp-step-up" href="/rp/login?acr=mfa">${escapeHtml(t('rp.step_up'))}</a> · <a id="rp-again" href="/rp/login?prompt=login">${escapeHtml(t('rp.again'))}</a></p>
${claims}
${report}`;
    res.type('html').send(renderShell(pageContext(req), { title: t('rp.title'), body }));
  });

  const issuerOrigin = new URL(oidc.issuer).origin;
  router.get('/login', async (req: Request, res: Response) => {
    // The sign-in must start on the issuer's own host: its callback comes back there, to this session's cookie.
    const here = `${req.protocol}://${req.get('host') ?? ''}`;
    if (here !== issuerOrigin) return res.redirect(303, `${issuerOrigin}${req.originalUrl}`);
    const config = await configuration();
    const verifier = client.randomPKCECodeVerifier();
    const pending: RpState['pending'] = { verifier, state: client.randomState(), nonce: client.randomNonce() };
    const params: Record<string, string> = {
      redirect_uri: redirectUri, scope: 'openid profile otp_report', state: pending.state, nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    };
    const acr = typeof req.query.acr === 'string' ? ACR[req.query.acr] : undefined;
    if (acr) params.acr_values = acr;
    if (req.query.prompt === 'login') params.prompt = 'login';
    req.session.rp = { ...req.session.rp, pending };
    delete req.session.rp.error;
    res.redirect(303, client.buildAuthorizationUrl(config, params).href);
  });

  router.get('/callback', async (req, res) => {
    const rp = req.session.rp ?? {};
    const pending = rp.pending;
    if (!pending) {
      req.session.rp = { ...rp, error: { error: 'no_sign_in_pending', error_description: 'no sign-in was started in this browser session: start again' } };
      return res.redirect(303, '/rp');
    }
    delete rp.pending;
    const config = await configuration();
    const url = new URL(req.originalUrl, redirectUri);
    try {
      const tokens = await client.authorizationCodeGrant(config, url, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce });
      const claims = tokens.claims() as Record<string, unknown>;
      rp.claims = claims;
      rp.userinfo = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub)) as Record<string, unknown>;
      delete rp.error;
    } catch (error) {
      const e = error as { error?: string; error_description?: string; message?: string };
      rp.error = { error: e.error ?? 'sign_in_failed', ...(e.error_description ? { error_description: e.error_description } : {}) };
    }
    req.session.rp = rp;
    return res.redirect(303, '/rp');
  });

  router.get('/claims', (req, res) => {
    const claims = req.session.rp?.claims;
    if (!claims) return void res.status(401).json({ status: 'ERROR', error: { code: 'NOT_SIGNED_IN', message: 'no sign-in through the demo SSO in this browser session yet' } });
    res.json(claims);
  });
  return router;
}
