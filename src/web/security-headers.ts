import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { AppConfig } from '../config/types.js';

/**
 * helmet with a CSP that lets the pages load only their own script and style, never be framed, and post forms
 * only to this site and to the origins of configured locations: Chromium applies `form-action` to the redirect
 * that follows a form POST, so a chain whose success_location is another origin must be allowed here.
 */
export function locationOrigins(config: AppConfig): string[] {
  const origins = new Set<string>();
  for (const a of config.authenticators) {
    for (const key of ['success_location', 'failure_location', 'cancel_location']) {
      const value = (a.config as Record<string, unknown>)[key];
      if (typeof value === 'string' && /^https?:\/\//.test(value)) origins.add(new URL(value).origin);
    }
  }
  // A login that is an OIDC interaction ends with a redirect to the client's redirect_uri.
  for (const c of config.oidc?.clients ?? []) {
    for (const uri of c.redirect_uris) if (/^https?:\/\//.test(uri)) origins.add(new URL(uri).origin);
  }
  return [...origins].sort();
}

type HeaderValue = string | number | readonly string[];

/** helmet's headers for this configuration, computed once: they depend on the configuration only. */
function helmetHeaders(config: AppConfig): [string, HeaderValue][] {
  const middleware = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'", ...locationOrigins(config)],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    strictTransportSecurity: config.server.session.secure,
    referrerPolicy: { policy: 'same-origin' },
  });
  const headers = new Map<string, HeaderValue>();
  const capture = {
    setHeader: (name: string, value: HeaderValue) => void headers.set(name, value),
    removeHeader: (name: string) => void headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  middleware({ method: 'GET', headers: {} } as never, capture as never, () => undefined);
  return [...headers];
}

function setting(headers: readonly [string, HeaderValue][]): RequestHandler {
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    res.removeHeader('X-Powered-By');
    next();
  };
}

/**
 * Every answer of the authenticators' paths. helmet runs once, here, and each response gets the result: a dozen
 * middleware calls per request were a measurable share of a `start` (bench/README.md).
 */
export function securityHeaders(config: AppConfig): RequestHandler {
  return setting(helmetHeaders(config));
}

/**
 * The JSON API's answers (src/authn/json-shortcut.ts): the headers that protect a JSON answer (the same CSP, so it
 * can never run as a page or be framed; nosniff; HSTS; the
 * referrer and cross-origin resource policies) without those that only steer how a browser treats an HTML document
 * (opener and origin-agent isolation, DNS prefetch, download and cross-domain policies, the legacy XSS filter).
 * Each header is work on every `start`.
 */
const API_HEADERS = new Set(['content-security-policy', 'x-content-type-options', 'x-frame-options', 'strict-transport-security', 'referrer-policy', 'cross-origin-resource-policy']);

export function apiSecurityHeaders(config: AppConfig): RequestHandler {
  const kept = helmetHeaders(config).filter(([name]) => API_HEADERS.has(name.toLowerCase()));
  return setting(kept);
}
