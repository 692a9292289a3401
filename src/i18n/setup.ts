import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
import i18next, { type i18n as I18n, type TFunction } from 'i18next';
import FsBackend from 'i18next-fs-backend';
import { LanguageDetector, handle } from 'i18next-http-middleware';
import type { I18nConfig } from '../config/types.js';
import { packagePath } from '../package-root.js';

/** The cookie that remembers the user's language; written only after the user accepts cookies. */
export const LANGUAGE_COOKIE = 'lng';

export interface Translations {
  instance: I18n;
  /** Express middleware: detects the language (?lng=, the language cookie, Accept-Language, fallback). */
  middleware: RequestHandler;
  /** A translator for a language, for use outside a request. */
  fixed(lng: string): TFunction;
}

/**
 * One i18next instance per authenticator set, loading locales/<lng>/translation.json from the package and,
 * key by key over it, from `overlay_dir/locales/<lng>/translation.json` when an operator supplies one.
 */
export async function createTranslations(config: I18nConfig, overlayDir: string | null = null): Promise<Translations> {
  const instance = i18next.createInstance();
  const detector = new LanguageDetector(null, {
    order: ['querystring', 'cookie', 'header'],
    lookupQuerystring: 'lng',
    lookupCookie: LANGUAGE_COOKIE,
    caches: false,
  });
  await instance.use(FsBackend).use(detector).init({
    backend: { loadPath: packagePath('locales', '{{lng}}', '{{ns}}.json') },
    supportedLngs: config.languages,
    nonExplicitSupportedLngs: true,
    load: 'languageOnly',
    fallbackLng: config.fallback,
    preload: config.languages,
    ns: ['translation'],
    defaultNS: 'translation',
    interpolation: { escapeValue: false },
    returnNull: false,
    initAsync: false,
  });
  if (overlayDir) {
    for (const lng of config.languages) {
      const file = path.join(overlayDir, 'locales', lng, 'translation.json');
      if (existsSync(file)) {
        instance.addResourceBundle(lng, 'translation', JSON.parse(readFileSync(file, 'utf8')) as object, true, true);
      }
    }
  }
  return {
    instance,
    middleware: handle(instance) as unknown as RequestHandler,
    fixed: (lng) => instance.getFixedT(lng),
  };
}

/** The request's language as one of the configured ones (`sv`, not `sv-SE`), for pages, templates and answers. */
export function languageOf(req: { language?: string; resolvedLanguage?: string }): string {
  return req.resolvedLanguage ?? (req.language ?? 'en').split('-')[0] ?? 'en';
}
