import type { Request } from 'express';
import { csrfToken } from '../http/csrf.js';
import { translator } from '../http/respond.js';
import { CONSENT_COOKIE, hasConsent } from '../i18n/language-cookie.js';
import { languageOf, languagesOf } from '../i18n/setup.js';

/** What every authenticator page needs besides its own content: language, translations, CSRF, consent, links. */
export interface PageContext {
  lang: string;
  languages: readonly string[];
  t: (key: string, options?: Record<string, unknown>) => string;
  csrfToken: string;
  /** The cookie banner shows until the user accepts; only then is the language cookie written. */
  consent: boolean;
  /** This page's path, for the language links and the banner's return. */
  path: string;
  webBase: string;
}

export const WEB_BASE = '/_authn';

export function pageContext(req: Request): PageContext {
  return {
    lang: languageOf(req),
    languages: languagesOf(req),
    t: translator(req),
    csrfToken: csrfToken(req),
    consent: hasConsent(req),
    path: req.originalUrl.split('?')[0] ?? '/',
    webBase: WEB_BASE,
  };
}

export { CONSENT_COOKIE };
