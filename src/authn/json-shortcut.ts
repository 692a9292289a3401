import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { bodyKind } from '../http/body.js';

/**
 * The JSON API's requests (a POST or PUT of JSON to an authenticator's own path) go straight to that
 * authenticator's handler, past the dozen Express layers in front of it that serve the pages, assets and admin
 * routes: those layers were a measurable share of a `start` (bench/README.md). The request gets the same
 * security headers, handler and error handler as through the router; anything else (a form, a GET, another
 * path or spelling of it) takes the router as before.
 */
export type JsonHandler = (req: Request, res: Response) => Promise<unknown>;

export interface JsonShortcut {
  middleware: RequestHandler;
  /** Serves `path`'s JSON requests, unless a route mounted before it (`mountedBefore`) would see them first. */
  add(path: string, handler: JsonHandler, mountedBefore: readonly string[]): void;
}

/**
 * `prepare` does for a request taken here what the router's own middleware would for this package's answers (the
 * language; `req.t` and `req.language` are left unset, as no host route sees the request); a request with a query
 * string (`?lng=`, which may also set the language cookie) takes the router.
 */
export function jsonShortcut(headers: RequestHandler, onError: ErrorRequestHandler, prepare: (req: Request) => void): JsonShortcut {
  const routes = new Map<string, JsonHandler>();
  const noop = () => undefined;
  return {
    middleware: (req, res, next) => {
      if ((req.method !== 'POST' && req.method !== 'PUT') || req.url.includes('?')) return next();
      const handler = routes.get(req.path);
      if (handler === undefined || bodyKind(req) !== 'json') return next();
      prepare(req);
      headers(req, res, noop);
      handler(req, res).catch((error: unknown) => onError(error, req, res, next));
    },
    add(path, handler, mountedBefore) {
      const own = path.toLowerCase();
      // Express matches mount paths by prefix and case-insensitively: an earlier mount that covers this path
      // would answer first through the router, so the shortcut must not take its requests.
      const shadowed = mountedBefore.some((m) => { const p = m.toLowerCase().replace(/\/+$/, ''); return own === p || own.startsWith(`${p}/`) || p === ''; });
      if (!shadowed && !routes.has(path)) routes.set(path, handler);
    },
  };
}
