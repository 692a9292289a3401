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
  return [...origins].sort();
}

export function securityHeaders(config: AppConfig): RequestHandler {
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
  // The headers depend on the configuration only, so helmet runs once, here, and each response gets the result:
  // a dozen middleware calls per request were a measurable share of a `start` (bench/README.md).
  const headers = new Map<string, string | number | readonly string[]>();
  const capture = {
    setHeader: (name: string, value: string | number | readonly string[]) => void headers.set(name, value),
    removeHeader: (name: string) => void headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  middleware({ method: 'GET', headers: {} } as never, capture as never, () => undefined);
  const fixed = [...headers];
  return (_req, res, next) => {
    for (const [name, value] of fixed) res.setHeader(name, value);
    res.removeHeader('X-Powered-By');
    next();
  };
}
