import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { packagePath } from '../package-root.js';

/**
 * The OpenAPI 3.1 document of the verification API (src/api/openapi.json, which package.json "files" ships beside
 * dist/src), read once when this module loads: a missing or broken file fails at startup, not at a request.
 * test/http/verify-api.openapi.test.ts holds it to the router's real answers.
 */
export const OPENAPI_FILE = packagePath('src', 'api', 'openapi.json');

const text = readFileSync(OPENAPI_FILE, 'utf8');
JSON.parse(text);
const bytes = Buffer.from(text, 'utf8');

/** GET /openapi.json: the file as it is, no key needed. */
export const serveOpenApi: RequestHandler = (_req, res) => {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
};
