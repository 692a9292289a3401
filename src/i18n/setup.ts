import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Request, RequestHandler } from 'express';
import i18next, { type i18n as I18n, type TFunction } from 'i18next';
import FsBackend from 'i18next-fs-backend';
import { LanguageDetector } from 'i18next-http-middleware';
import type { I18nConfig } from '../config/types.js';
import { packagePath } from '../package-root.js';

/** The cookie that remembers the user's language; written only after the user accepts cookies. */
export const LANGUAGE_COOKIE = 'lng';

export interface Translations {
  instance: I18n;
  /**
   * Express middleware: detects the language (?lng=, the language cookie, Accept-Language, fallback) and sets
   * `req.t` and `req.language` for the host's routes too.
   */
  middleware: RequestHandler;
  /** The same for one request (the middleware's work without the middleware). */
  detect(req: Request): void;
  /**
   * Detects the language for this package's own answers (messages, pages) without setting `req.t` and
   * `req.language`: for a request the JSON shortcut answers (src/authn/json-shortcut.ts), which no host route
   * sees. Express gives each request a prototype of its own app (setPrototypeOf), after which every property added
   * to the request builds it a new hidden class: two of them were a measurable part of a `start` (bench/README.md).
   */
  remember(req: Request): void;
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
  const language = requestLanguages(instance, detector, config);
  return {
    instance,
    middleware: language.middleware,
    detect: language.detect,
    remember: language.remember,
    fixed: (lng) => instance.getFixedT(lng),
  };
}

/** What a request's language is, kept beside the request rather than on it (see requestLanguages). */
interface RequestLanguage {
  lng: string;
  t: TFunction;
  languages: readonly string[];
}

const detected = new WeakMap<object, RequestLanguage>();

/** The request's language as one of the configured ones (`sv`, not `sv-SE`), for pages, templates and answers. */
export function languageOf(req: object & { language?: string; resolvedLanguage?: string }): string {
  return detected.get(req)?.lng ?? req.resolvedLanguage ?? (req.language ?? 'en').split('-')[0] ?? 'en';
}

/** The request's translator, if its language was detected. */
export function translatorOf(req: object): TFunction | undefined {
  return detected.get(req)?.t ?? (req as { t?: TFunction }).t;
}

/** The configured languages, for a page's language links. */
export function languagesOf(req: object): readonly string[] {
  return detected.get(req)?.languages ?? ['en'];
}

/**
 * The library's detection (`?lng=`, the cookie, Accept-Language, in that order) without its per-request work:
 * i18next-http-middleware's `handle` clones the whole i18next instance for every request, which cost a fifth of
 * a `start` (bench/README.md). The languages are fixed at start-up, so one translator per language serves all.
 * The result is kept in a WeakMap: Express gives every request object its own prototype, so each property added to
 * one is a fresh hidden-class transition (~4 µs each, measured); only `t` and `language`, which a host's routes
 * and step hooks read, are set on the request.
 */
function requestLanguages(instance: I18n, detector: LanguageDetector, config: I18nConfig): { middleware: RequestHandler; detect(req: Request): void; remember(req: Request): void } {
  const translators = new Map(config.languages.map((lng) => [lng, instance.getFixedT(lng)]));
  const supported = (code: unknown): string | undefined => {
    if (typeof code !== 'string') return undefined;
    if (translators.has(code)) return code;
    const base = code.split('-')[0] ?? '';
    return translators.has(base) ? base : undefined;
  };
  const resolve = (request: unknown): string => {
    const found = detector.detect(request as never, {} as never, undefined as never) as string | string[] | undefined;
    return (Array.isArray(found) ? found.map(supported).find(Boolean) : supported(found)) ?? config.fallback;
  };
  const lngOf = memoisedDetection(resolve);
  const detect = (req: Request): RequestLanguage => {
    const lng = lngOf(req);
    const language = { lng, t: translators.get(lng) ?? instance.getFixedT(lng), languages: config.languages };
    detected.set(req, language);
    return language;
  };
  const detectAndSet = (req: Request): void => {
    const { lng, t } = detect(req);
    const r = req as Request & { t: TFunction; language: string };
    r.t = t;
    r.language = lng;
  };
  return {
    detect: detectAndSet,
    remember: (req) => void detect(req),
    middleware: (req, _res, next) => {
      detectAndSet(req);
      next();
    },
  };
}

const MEMO_SIZE = 512;

/**
 * Without a query string the answer depends on two inputs only, the language cookie and Accept-Language, and browsers
 * send a handful of distinct values: the detector (which parses the query, every cookie and the header: a tenth
 * of a `start`) runs once per distinct pair, on a request made of that pair alone, so a cached answer is exactly
 * what the detector says for it. The memo is bounded: when full it starts over.
 */
function memoisedDetection(resolve: (request: unknown) => string): (req: Request) => string {
  const memo = new Map<string, string>();
  return (req) => {
    // A query may name the language (`?lng=`, or escaped); a cookie parser's `req.cookies` is what the detector reads.
    if (req.url.includes('?') || (req as { cookies?: unknown }).cookies) return resolve(req);
    const cookie = detectorsCookie(req.headers.cookie, LANGUAGE_COOKIE);
    const accept = req.headers['accept-language'] ?? '';
    const key = `${cookie ?? ''}\n${accept}`;
    let lng = memo.get(key);
    if (lng === undefined) {
      const headers: Record<string, string> = { 'accept-language': accept };
      if (cookie !== undefined) headers.cookie = `${LANGUAGE_COOKIE}=${cookie}`;
      lng = resolve({ url: '/', query: {}, headers });
      if (memo.size >= MEMO_SIZE) memo.clear();
      memo.set(key, lng);
    }
    return lng;
  };
}

/**
 * The language cookie as the detector reads it from the header (i18next-http-middleware's getCookies): the name
 * trimmed, the value as it stands, the last of that name winning. A request made of `name=<that value>` then reads
 * the same to the detector.
 */
function detectorsCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let value: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key.trim() === name) value = eq < 0 ? '' : part.slice(eq + 1);
  }
  return value;
}
