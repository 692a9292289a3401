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
  return helmet({
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
}
