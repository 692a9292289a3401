import express, { type Express } from 'express';
import passport from 'passport';
import { createAuthn, type Authn, type AuthnOptions } from '../assembly/create-authn.js';
import { csrfValid } from '../http/csrf.js';
import { pageContext } from '../web/page-context.js';
import { securityHeaders } from '../web/security-headers.js';
import { STRATEGY_NAME, type AuthnUser } from '../authn/passport-strategy.js';
import type { AppConfig } from '../config/types.js';
import { renderAccountPage, renderHomePage, type MethodsTried } from './demo-pages.js';
import { createOidcLogin, createOidcProvider } from '../integrations/oidc-provider.js';
import { createDemoRp } from './demo-rp.js';

/**
 * The demo SSO site of SPEC section 9: `/`, the login chain under `/authn`, `/account` (the user and the OTP
 * report), `/logout`, `/healthz`, `/readyz`. Built as a function so tests drive exactly what `npm start` serves.
 */
export interface DemoApp {
  app: Express;
  authn: Authn;
}

export async function createDemoApp(config: AppConfig, options: AuthnOptions = {}): Promise<DemoApp> {
  const authn = await createAuthn(config, options);
  const pp = new passport.Passport();
  pp.use(STRATEGY_NAME, authn.strategy);
  pp.serializeUser((user, done) => done(null, user));
  pp.deserializeUser((user: AuthnUser, done) => done(null, user));

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.server.trust_proxy);
  app.use(authn.health);
  // The verification API for backends before the session: bearer keys, no cookie or CSRF (docs/verify-api.md), so a
  // backend's request, which carries no cookie, is not given a session it would throw away.
  if (authn.verifyApi) app.use('/api/verify', authn.verifyApi);
  // Then the session: the provider asks it whether the site's own login of the user still stands.
  app.use(authn.session);
  // The identity provider at the issuer's path (/oidc): before any body parser (it reads its own bodies) and
  // before the site's headers (its few pages carry their own).
  const provider = config.oidc ? createOidcProvider(authn, options.env ?? process.env) : null;
  if (provider && config.oidc) app.use(new URL(config.oidc.issuer).pathname, provider.callback());
  app.use(securityHeaders(config));
  // passport.session() alone: since passport 0.5.1 it (like every authenticate()) gives req login/logout itself;
  // initialize() would only add the compatibility object of pre-0.5 strategies, a cost on every request (bench/README.md).
  app.use(pp.session());
  // Phone verification and enrolling an app are for a signed-in user only: the password step alone does not reach them.
  const signedIn: express.RequestHandler = (req, res, next) => {
    if (req.user) return next();
    if (req.accepts(['html', 'json']) === 'json') return void res.status(401).json({ status: 'ERROR', error: { code: 'NOT_IN_FLOW', message: req.t('errors.NOT_IN_FLOW') } });
    return res.redirect(302, '/authn/login');
  };
  app.use('/authn/phone', authn.translations.middleware, signedIn);
  app.use('/authn/enroll', authn.translations.middleware, signedIn);
  app.use('/authn/recovery-codes', authn.translations.middleware, signedIn);
  app.use(authn.router);
  if (provider && config.oidc) {
    app.use(createOidcLogin(authn, provider));
    app.use('/rp', authn.translations.middleware, createDemoRp(config.oidc));
  }

  app.get('/', (req, res) => {
    res.type('html').send(renderHomePage(pageContext(req), req.user as AuthnUser | undefined));
  });
  app.get('/account', async (req, res) => {
    const user = req.user as AuthnUser | undefined;
    if (!user) return res.redirect(302, '/authn/login');
    const exports = req.session.authn?.exports ?? {};
    const byStep = (exports.otp_reports ?? {}) as Record<string, unknown>;
    // The login's report is the one of the way the user took at the selector (otp, email or totp).
    const method = typeof exports.otp_method === 'string' ? exports.otp_method : null;
    const reports = [{ label: req.t('demo.report'), report: (method ? byStep[method] : undefined) ?? byStep.otp ?? exports.otp_report }];
    if (byStep.phone) reports.push({ label: req.t('demo.phone_report'), report: byStep.phone });
    const tried = Array.isArray(exports.otp_methods) ? (exports.otp_methods as MethodsTried['tried']) : [];
    const codesLeft = await authn.credentials.recoveryCodesLeft(user.username);
    const devices = await authn.credentials.devices(user.username);
    return res.type('html').send(renderAccountPage(pageContext(req), user, reports, { method, tried }, codesLeft, devices));
  });
  const logout: express.RequestHandler = (req, res, next) => {
    if (req.method === 'POST' && !csrfValid(req, (req.body as Record<string, unknown> | undefined)?._csrf)) {
      res.status(403).type('text').send('CSRF');
      return;
    }
    req.logout({ keepSessionInfo: false }, (err) => {
      if (err) return next(err);
      req.session.destroy(() => {
        res.clearCookie(config.server.session.cookie_name, { path: '/' });
        res.redirect(303, '/');
      });
    });
  };
  app.post('/logout', express.urlencoded({ extended: false, limit: '1kb' }), logout);
  // Security settings: the signed-in user revokes one trusted browser, or all (the CLI's `devices --revoke`).
  app.post('/account/devices/revoke', express.urlencoded({ extended: false, limit: '1kb' }), async (req, res) => {
    const user = req.user as AuthnUser | undefined;
    if (!user) return res.redirect(303, '/authn/login');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(req, body._csrf)) return void res.status(403).type('text').send('CSRF');
    if (typeof body.id !== 'string' || body.id.length === 0 || body.id.length > 64) return void res.status(400).type('text').send('BAD_REQUEST');
    await authn.credentials.revokeDevices(user.username, body.id);
    return res.redirect(303, '/account');
  });
  app.use(authn.errorHandler);
  return { app, authn };
}
