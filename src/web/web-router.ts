import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import { csrfValid } from '../http/csrf.js';
import { authnErrorHandler } from '../http/respond.js';
import { packagePath } from '../package-root.js';
import { CONSENT_COOKIE, cookieOptions } from '../i18n/language-cookie.js';
import { LANGUAGE_COOKIE, languageOf } from '../i18n/setup.js';

/**
 * The pages' own routes under /_authn: the stylesheet and script (an operator's overlay_dir/assets may replace
 * either) and the cookie-consent form of the banner.
 */
const ASSETS: Record<string, string> = { 'otp.css': 'text/css; charset=utf-8', 'otp-form.js': 'text/javascript; charset=utf-8' };

function loadAsset(name: string, overlayDir: string | null): string {
  const overlay = overlayDir ? path.join(overlayDir, 'assets', name) : null;
  if (overlay && existsSync(overlay)) return readFileSync(overlay, 'utf8');
  return readFileSync(packagePath('src', 'web', 'assets', name), 'utf8');
}

/** A return path must stay on this site: one leading slash, no scheme, no backslash tricks. */
export function safeReturnPath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s\\]*$/.test(value) && value.length <= 500 ? value : '/';
}

export function createWebRouter(overlayDir: string | null, secureCookies: boolean): Router {
  const router = express.Router();
  const cache = new Map(Object.keys(ASSETS).map((name) => [name, loadAsset(name, overlayDir)]));
  router.get('/assets/:name', (req, res) => {
    const body = cache.get(req.params.name);
    if (body === undefined) return void res.status(404).type('text').send('Not found');
    res.type(ASSETS[req.params.name] ?? 'text/plain').setHeader('Cache-Control', 'public, max-age=300');
    res.send(body);
  });
  router.post('/consent', express.urlencoded({ extended: false, limit: '2kb' }), (req, res) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(req, form._csrf)) return void res.status(403).type('text').send('CSRF');
    res.cookie(CONSENT_COOKIE, 'yes', cookieOptions(secureCookies));
    const lng = languageOf(req as express.Request & { language?: string });
    if (lng) res.cookie(LANGUAGE_COOKIE, lng, cookieOptions(secureCookies));
    res.redirect(303, safeReturnPath(form.return));
  });
  router.use(authnErrorHandler());
  return router;
}
