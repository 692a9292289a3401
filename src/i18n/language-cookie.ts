import type { Request, RequestHandler } from 'express';
import { LANGUAGE_COOKIE } from './setup.js';

/**
 * The language cookie is a preference, so it is written only after the user accepted cookies (the banner).
 * Until then the language comes from `?lng=` on each link and from Accept-Language.
 */
export const CONSENT_COOKIE = 'cookie_consent';
const YEAR_MS = 365 * 24 * 3600 * 1000;

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function hasConsent(req: Request): boolean {
  return readCookie(req, CONSENT_COOKIE) === 'yes';
}

export function cookieOptions(secure: boolean) {
  return { path: '/', maxAge: YEAR_MS, sameSite: 'lax' as const, secure, httpOnly: true };
}

/** After consent, `?lng=xx` (a supported language) is remembered in the language cookie. */
export function rememberLanguage(languages: readonly string[], secure: boolean): RequestHandler {
  return (req, res, next) => {
    // Parsing the query string is work most requests need not do: look for lng= first.
    if (!req.url.includes('lng=')) return next();
    const wanted = typeof req.query.lng === 'string' ? req.query.lng : undefined;
    if (wanted && languages.includes(wanted) && hasConsent(req) && readCookie(req, LANGUAGE_COOKIE) !== wanted) {
      res.cookie(LANGUAGE_COOKIE, wanted, cookieOptions(secure));
    }
    next();
  };
}
