/**
 * EmailSend: delivers the code by e-mail over SMTP (nodemailer). Subject, text and HTML come from the
 * `email.*` messages (locales/<lng>/messages.json) in the flow's language; the HTML is built here from those
 * texts, each HTML-escaped whole (a name or an app name cannot inject markup). A failure is reason
 * `FAILED TO SEND TO NUMBER`, the SPEC's word for any delivery failure.
 */
import nodemailer from 'nodemailer';
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { guardDeliveryOnce } from './http-gateway.js';
import { codeMessageValues, flowLanguage, translatorFor, warnOnce } from './message-catalogue.js';

export const DEFAULT_SMTP_TIMEOUT_MS = 5000;
export const DEFAULT_EMAIL_MESSAGE_PREFIX = 'email';

export interface EmailSendConfig {
  host: string;
  port?: number;
  secure?: boolean;
  auth?: { user: string; pass: string };
  from: string;
  ignore_tls?: boolean;
  timeout_ms?: number;
  app_name?: string;
  message_prefix?: string;
}

export const emailSendSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'from'],
  properties: {
    host: { type: 'string', minLength: 1, description: 'SMTP server host.' },
    port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SMTP port (default 465 with secure, else 587).' },
    secure: { type: 'boolean', description: 'TLS from the first byte (port 465); otherwise STARTTLS when the server offers it (default false).' },
    auth: {
      type: 'object',
      additionalProperties: false,
      required: ['user', 'pass'],
      properties: { user: { type: 'string' }, pass: { type: 'string' } },
      description: 'SMTP credentials, from ${env.X}.',
    },
    from: { type: 'string', minLength: 3, description: 'The From address, e.g. "Demo SSO <no-reply@example.com>".' },
    ignore_tls: { type: 'boolean', description: 'Never use STARTTLS (tests and local relays only).' },
    timeout_ms: { type: 'integer', minimum: 1, maximum: 60000, description: "Connection, greeting and socket time-out (default 5000); keep it below the valve's timeout_ms." },
    app_name: { type: 'string', description: "The {{app}} text (default: the authenticator's app name)." },
    message_prefix: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'Key prefix of the texts in the messages namespace (default email).' },
  },
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

export interface EmailTexts {
  subject: string;
  greeting: string;
  text: string;
  intro: string;
  outro: string;
  ignore: string;
}

/** A language tag safe to put in an attribute or a header; anything else reads as `en`. */
export function safeLanguageTag(lang: string): string {
  return /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,4}$/.test(lang) ? lang : 'en';
}

export function emailBodies(texts: EmailTexts, code: string, lang: string): { text: string; html: string } {
  const safeLang = safeLanguageTag(lang);
  const text = `${texts.greeting}\n\n${texts.text}\n\n${texts.ignore}\n`;
  const html =
    `<!doctype html>\n<html lang="${safeLang}"><head><meta charset="utf-8"><title>${escapeHtml(texts.subject)}</title></head>\n<body>\n` +
    `<p>${escapeHtml(texts.greeting)}</p>\n` +
    `<p>${escapeHtml(texts.intro)}</p>\n` +
    `<p style="font-size:24px;font-weight:bold;letter-spacing:4px;font-family:monospace">${escapeHtml(code)}</p>\n` +
    `<p>${escapeHtml(texts.outro)}</p>\n` +
    `<p>${escapeHtml(texts.ignore)}</p>\n</body></html>\n`;
  return { text, html };
}

function smtpErrorCode(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const e = error as { code?: unknown; responseCode?: unknown };
    const parts = [typeof e.code === 'string' ? e.code : null, typeof e.responseCode === 'number' ? String(e.responseCode) : null].filter(Boolean);
    if (parts.length > 0) return parts.join(' ');
  }
  return 'error';
}

export const emailSend: ValveFactory<EmailSendConfig> = (config, deps) => {
  const timeout = config.timeout_ms ?? DEFAULT_SMTP_TIMEOUT_MS;
  if (config.ignore_tls && deps.production) warnOnce(deps, `EmailSend: ignore_tls is set for ${config.host}: codes go over SMTP without TLS`);
  const transport = nodemailer.createTransport({
    host: config.host,
    ...(config.port !== undefined ? { port: config.port } : {}),
    secure: config.secure ?? false,
    ...(config.auth ? { auth: { user: config.auth.user, pass: config.auth.pass } } : {}),
    ignoreTLS: config.ignore_tls ?? false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const translate = translatorFor(deps);
  const prefix = config.message_prefix ?? DEFAULT_EMAIL_MESSAGE_PREFIX;

  return {
    async run(ctx) {
      const destination = ctx.state.destination;
      const code = ctx.state.code;
      if (!destination || destination.kind !== 'email' || typeof destination.address !== 'string') {
        return failFlow(FlowReason.VALVE_ERROR, 'no e-mail address to send to');
      }
      if (!code || typeof code.value !== 'string') return failFlow(FlowReason.VALVE_ERROR, 'no code to deliver');

      const refused = await guardDeliveryOnce(ctx);
      if (refused) return refused;

      const lang = flowLanguage(ctx);
      const values = codeMessageValues(ctx, code.value, config.app_name);
      const t = (name: string, extra: Record<string, unknown> = {}): string => translate(lang, `${prefix}.${name}`, { ...values, ...extra });
      const texts: EmailTexts = {
        subject: t('subject'),
        greeting: t('greeting', values['fn'] ? { context: 'named' } : {}),
        text: t('text'),
        intro: t('html_intro'),
        outro: t('html_outro'),
        ignore: t('ignore'),
      };
      const { text, html } = emailBodies(texts, code.value, lang);
      try {
        await transport.sendMail({
          from: config.from,
          to: destination.address,
          subject: texts.subject,
          text,
          html,
          headers: { 'Auto-Submitted': 'auto-generated', 'Content-Language': safeLanguageTag(lang) },
        });
      } catch (error) {
        return failFlow(FlowReason.FAILED_TO_SEND, `the SMTP server did not take the message (${smtpErrorCode(error)})`);
      }
      destination.channel = 'email';
      ctx.state.delivered = { channel: 'email', to: destination.address, at: deps.now() };
      return undefined;
    },
  };
};
