/**
 * The delivery texts (SMS, voice, e-mail) when the host gives no `ValveDeps.translate`: the package's
 * `locales/<lng>/messages.json`, with an operator's `<messagesDir>/<lng>/messages.json` merged over them key by
 * key, rendered by a private i18next instance (so `{{x}}`, `context` and plurals behave exactly as they do
 * when the host's own i18next renders them). Interpolation never HTML-escapes: a valve escapes what it puts
 * into HTML itself.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import i18next, { type i18n as I18n } from 'i18next';
import { packagePath } from '../package-root.js';
import type { FlowContext, ValveDeps } from '../pipes/types.js';
import { renderTemplate, ttlMinutes } from './message-template.js';

export const MESSAGES_NAMESPACE = 'messages';
export const FALLBACK_LANGUAGE = 'en';

export type Translate = (lng: string, key: string, values: Record<string, unknown>) => string;

interface Catalogue {
  instance: I18n;
  languages: string[];
}

const catalogues = new Map<string, Catalogue>();

function languagesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, `${MESSAGES_NAMESPACE}.json`)))
    .map((e) => e.name)
    .sort();
}

function readMessages(file: string): Record<string, unknown> {
  const data: unknown = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`${file}: messages must be a JSON object`);
  return data as Record<string, unknown>;
}

function loadCatalogue(messagesDir: string | undefined): Catalogue {
  const packageDir = packagePath('locales');
  const languages = [...new Set([...languagesIn(packageDir), ...(messagesDir ? languagesIn(messagesDir) : [])])].sort();
  const instance = i18next.createInstance();
  void instance.init({
    initAsync: false,
    resources: {},
    ns: [MESSAGES_NAMESPACE],
    defaultNS: MESSAGES_NAMESPACE,
    fallbackLng: FALLBACK_LANGUAGE,
    supportedLngs: languages,
    nonExplicitSupportedLngs: true,
    load: 'languageOnly',
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  for (const lng of languages) {
    const own = path.join(packageDir, lng, `${MESSAGES_NAMESPACE}.json`);
    if (existsSync(own)) instance.addResourceBundle(lng, MESSAGES_NAMESPACE, readMessages(own), true, true);
    const overlay = messagesDir ? path.join(messagesDir, lng, `${MESSAGES_NAMESPACE}.json`) : undefined;
    if (overlay && existsSync(overlay)) instance.addResourceBundle(lng, MESSAGES_NAMESPACE, readMessages(overlay), true, true);
  }
  return { instance, languages };
}

function catalogue(messagesDir: string | undefined): Catalogue {
  const key = messagesDir ? path.resolve(messagesDir) : '';
  let found = catalogues.get(key);
  if (!found) {
    found = loadCatalogue(messagesDir);
    catalogues.set(key, found);
  }
  return found;
}

/** Renders `key` of the messages namespace from the files (package, then overlay); `lng` falls back to `en`. */
export function translateFromFiles(messagesDir: string | undefined, lng: string, key: string, values: Record<string, unknown>): string {
  const { instance } = catalogue(messagesDir);
  return instance.t(key, { ...values, lng, ns: MESSAGES_NAMESPACE, interpolation: { escapeValue: false } }) as string;
}

/** The languages that have a messages file (package or overlay). */
export function catalogueLanguages(messagesDir?: string): string[] {
  return [...catalogue(messagesDir).languages];
}

/** The translator a valve uses: the host's `deps.translate`, else the files. */
export function translatorFor(deps: ValveDeps): Translate {
  if (deps.translate) return deps.translate.bind(deps);
  const dir = deps.messagesDir;
  return (lng, key, values) => translateFromFiles(dir, lng, key, values);
}

/** The languages checked when a valve is built: `deps.languages`, else those with a messages file. */
export function checkedLanguages(deps: ValveDeps): string[] {
  return deps.languages && deps.languages.length > 0 ? [...deps.languages] : catalogueLanguages(deps.messagesDir);
}

/** Forgets loaded catalogues (tests that write overlay files). */
export function clearMessageCatalogues(): void {
  catalogues.clear();
}

const warned = new WeakMap<ValveDeps, Set<string>>();

/**
 * Tells `deps.warn` a message once per `deps` (a valve whose config holds run-time references is built per run;
 * its warnings must not repeat per run).
 */
export function warnOnce(deps: ValveDeps, message: string): void {
  if (!deps.warn) return;
  let seen = warned.get(deps);
  if (!seen) {
    seen = new Set();
    warned.set(deps, seen);
  }
  if (seen.has(message)) return;
  seen.add(message);
  deps.warn(message);
}

/** The flow's language as a messages language: `sv-SE` reads as `sv`; the catalogue falls back to `en`. */
export function flowLanguage(ctx: FlowContext): string {
  const lng = typeof ctx.request.language === 'string' ? ctx.request.language.trim() : '';
  return lng === '' ? FALLBACK_LANGUAGE : lng;
}

/**
 * The message text a caller brought for this flow (the verification API's `message`, PhoneMatch's
 * `options.outofband.message`), rendered with renderTemplate instead of the catalogue's text; undefined when none.
 */
export function requestMessage(ctx: FlowContext): string | undefined {
  const m = ctx.exports['message_template'];
  return typeof m === 'string' && m !== '' ? m : undefined;
}

/**
 * Whether a delivery valve of `channel` stands aside because the caller asked for another channel (the
 * verification API's `channel`: `voice` passes an SmsSend by, `sms` a VoiceCall fallback).
 */
export function otherChannelRequested(ctx: FlowContext, channel: 'sms' | 'voice'): boolean {
  const asked = ctx.exports['requested_channel'];
  return (asked === 'sms' || asked === 'voice') && asked !== channel;
}

/** The variables of every code message: `code`, `minutes`, `app`, `fn`, `ln` (empty when unknown). */
export function codeMessageValues(ctx: FlowContext, code: string, appName: string | undefined): Record<string, string> {
  const fn = ctx.exports['fn'];
  const ln = ctx.exports['ln'];
  return {
    code,
    minutes: String(ttlMinutes(ctx.authenticator.code?.ttl_seconds)),
    app: appName ?? ctx.authenticator.app_name ?? 'sign-in',
    fn: typeof fn === 'string' ? fn : '',
    ln: typeof ln === 'string' ? ln : '',
  };
}

/** A code message's text: the caller's own (requestMessage) when it brought one, else the catalogue's `key`. */
export function codeMessageText(ctx: FlowContext, translate: Translate, key: string, values: Record<string, string>): string {
  const own = requestMessage(ctx);
  if (!own) return translate(flowLanguage(ctx), key, values);
  return renderTemplate(own, { code: values.code ?? '', minutes: Number(values.minutes), app: values.app ?? '', fn: values.fn ?? '', ln: values.ln ?? '' });
}
