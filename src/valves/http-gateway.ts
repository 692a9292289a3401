/**
 * The HTTP gateway that SmsSend and VoiceCall hand their messages to: one configurable request (URL, method,
 * headers, credentials, a JSON or form body whose strings hold `{{to}}`, `{{text}}`, `{{code}}`, `{{lang}}`),
 * through Node's fetch (undici) with one deadline for the whole delivery. A connection that is refused, reset
 * or hung up is tried once more; a time-out or an answer that is not 2xx is not (the gateway may have taken the
 * message). Failure messages name the status or the error code, never the body, the URL or a credential.
 */
import type { FlowContext, ValveResult } from '../pipes/types.js';
import { guardDelivery } from './delivery-guard.js';

export const DEFAULT_GATEWAY_TIMEOUT_MS = 5000;
export const MAX_GATEWAY_TIMEOUT_MS = 60_000;
/** Wait before the one retry after a connection error. */
export const GATEWAY_RETRY_DELAY_MS = 100;
export const GATEWAY_PLACEHOLDERS = ['to', 'text', 'code', 'lang'] as const;

type BodyValue = string | number | boolean | null | BodyValue[] | { [key: string]: BodyValue };

export interface HttpGatewayConfig {
  url: string;
  method?: 'POST' | 'PUT' | 'PATCH' | 'GET';
  headers?: Record<string, string>;
  body_format?: 'json' | 'form';
  body?: Record<string, BodyValue>;
  basic_auth?: { username: string; password: string };
  bearer_token?: string;
  timeout_ms?: number;
}

/** Schema properties shared by the gateway valves (each adds its own and sets `required: ['url']`). */
export const httpGatewaySchemaProperties = {
  url: { type: 'string', minLength: 1, description: 'Gateway URL (http or https).' },
  method: { enum: ['POST', 'PUT', 'PATCH', 'GET'], description: 'HTTP method (default POST); with GET the body fields go into the query string.' },
  headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Request headers; values may use ${env.X} (load time) and ${...} (run time).' },
  body_format: { enum: ['json', 'form'], description: 'json (default) or form (application/x-www-form-urlencoded).' },
  body: { type: 'object', description: 'Body template; string values may use {{to}}, {{text}}, {{code}}, {{lang}}.' },
  basic_auth: {
    type: 'object',
    additionalProperties: false,
    required: ['username', 'password'],
    properties: { username: { type: 'string' }, password: { type: 'string' } },
    description: 'HTTP basic authentication.',
  },
  bearer_token: { type: 'string', minLength: 1, description: 'Sent as Authorization: Bearer <token>.' },
  timeout_ms: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_GATEWAY_TIMEOUT_MS,
    description: "Deadline for the whole delivery, retry included (default 5000); keep it below the valve's timeout_ms.",
  },
} as const;

export interface GatewayMessage {
  to: string;
  text: string;
  code: string;
  lang: string;
}

export type GatewayOutcome = { ok: true; status: number; attempts: number } | { ok: false; message: string; attempts: number };

export interface HttpGateway {
  send(message: GatewayMessage): Promise<GatewayOutcome>;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

function walkStrings(value: unknown, at: string, visit: (text: string, at: string) => void): void {
  if (typeof value === 'string') visit(value, at);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, `${at}/${i}`, visit));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkStrings(v, `${at}/${k}`, visit);
  }
}

/** Every problem of a gateway config that the schema cannot see; the factory throws them at start-up. */
export function gatewayConfigProblems(config: HttpGatewayConfig): string[] {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(config.url);
  } catch {
    problems.push('url: not a valid URL');
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`url: ${url.protocol} is not http: or https:`);
  if (url && (url.username || url.password)) problems.push('url: put credentials in basic_auth, not in the URL');
  if (config.basic_auth && config.bearer_token) problems.push('basic_auth and bearer_token: give one of them');
  const headerNames = Object.keys(config.headers ?? {}).map((h) => h.toLowerCase());
  if ((config.basic_auth || config.bearer_token) && headerNames.includes('authorization')) {
    problems.push('headers/Authorization: it is set by basic_auth or bearer_token');
  }
  walkStrings(config.body ?? {}, 'body', (text, at) => {
    for (const m of text.matchAll(PLACEHOLDER)) {
      if (!(GATEWAY_PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')) {
        problems.push(`${at}: unknown placeholder ${m[0]} (use ${GATEWAY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`);
      }
    }
  });
  if ((config.body_format === 'form' || config.method === 'GET') && config.body) {
    for (const [key, value] of Object.entries(config.body)) {
      const flat = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);
      if (!flat(value) && !(Array.isArray(value) && value.every(flat))) {
        problems.push(`body/${key}: a form or query field is a string, number, boolean or an array of them`);
      }
    }
  }
  return problems;
}

function render(value: BodyValue, message: GatewayMessage): BodyValue {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (all, name: string) =>
      (GATEWAY_PLACEHOLDERS as readonly string[]).includes(name) ? message[name as keyof GatewayMessage] : all,
    );
  }
  if (Array.isArray(value)) return value.map((v) => render(v, message));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, message)]));
  }
  return value;
}

function formFields(body: Record<string, BodyValue>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v === null ? '' : String(v));
  }
  return params;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The error code of a failed fetch that is a connection error worth one retry, else null. */
export function connectionErrorCode(error: unknown, depth = 0): string | null {
  if (depth > 5 || error === null || typeof error !== 'object') return null;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return e.code;
  if (typeof e.message === 'string' && /socket hang up|other side closed/i.test(e.message)) return 'ECONNRESET';
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = connectionErrorCode(inner, depth + 1);
      if (code) return code;
    }
  }
  return connectionErrorCode(e.cause, depth + 1);
}

function isTimeout(error: unknown): boolean {
  return error !== null && typeof error === 'object' && (error as { name?: unknown }).name === 'TimeoutError';
}

function errorName(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const e = error as { code?: unknown; cause?: { code?: unknown }; name?: unknown };
    if (typeof e.cause?.code === 'string') return e.cause.code;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'error';
}

/**
 * Builds a gateway from its config; throws when the config cannot work. `label` names the gateway in failure
 * messages ("the SMS gateway answered HTTP 500").
 */
export function createHttpGateway(config: HttpGatewayConfig, label: string): HttpGateway {
  const problems = gatewayConfigProblems(config);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const method = config.method ?? 'POST';
  const format = config.body_format ?? 'json';
  const timeoutMs = config.timeout_ms ?? DEFAULT_GATEWAY_TIMEOUT_MS;
  const fixedHeaders: Record<string, string> = { ...(config.headers ?? {}) };
  const has = (name: string): boolean => Object.keys(fixedHeaders).some((h) => h.toLowerCase() === name);
  if (config.basic_auth) {
    const { username, password } = config.basic_auth;
    fixedHeaders['Authorization'] = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  } else if (config.bearer_token) {
    fixedHeaders['Authorization'] = `Bearer ${config.bearer_token}`;
  }
  if (!has('accept')) fixedHeaders['Accept'] = 'application/json';

  function request(message: GatewayMessage): { url: string; init: RequestInit } {
    const body = render(config.body ?? {}, message) as Record<string, BodyValue>;
    const headers = { ...fixedHeaders };
    if (method === 'GET') {
      const url = new URL(config.url);
      for (const [k, v] of formFields(body)) url.searchParams.append(k, v);
      return { url: url.toString(), init: { method, headers } };
    }
    if (format === 'form') {
      if (!has('content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      return { url: config.url, init: { method, headers, body: formFields(body).toString() } };
    }
    if (!has('content-type')) headers['Content-Type'] = 'application/json';
    return { url: config.url, init: { method, headers, body: JSON.stringify(body) } };
  }

  return {
    async send(message) {
      const { url, init } = request(message);
      const deadline = Date.now() + timeoutMs;
      const signal = AbortSignal.timeout(timeoutMs);
      let attempts = 0;
      for (;;) {
        attempts += 1;
        try {
          // redirect: manual, so credentials never follow a redirect and a 3xx counts as a failure.
          const response = await fetch(url, { ...init, signal, redirect: 'manual' });
          await response.body?.cancel().catch(() => undefined);
          if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, attempts };
          return { ok: false, message: `the ${label} answered HTTP ${response.status}`, attempts };
        } catch (error) {
          if (isTimeout(error) || signal.aborted) {
            return { ok: false, message: `the ${label} did not answer within ${timeoutMs} ms`, attempts };
          }
          const code = connectionErrorCode(error);
          if (code && attempts === 1 && deadline - Date.now() > GATEWAY_RETRY_DELAY_MS) {
            await new Promise((resolve) => setTimeout(resolve, GATEWAY_RETRY_DELAY_MS));
            continue;
          }
          const plural = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
          return {
            ok: false,
            message: code ? `the ${label} could not be reached (${code}, ${plural})` : `the ${label} request failed (${errorName(error)}, ${plural})`,
            attempts,
          };
        }
      }
    },
  };
}

/**
 * `guardDelivery` once per flow and destination: a fallback valve (VoiceCall after a failed SmsSend) sends the
 * same code to the same destination, and that is one send for the authenticator's budgets and reservation.
 * Keyed by the flow object, so config cannot forge it.
 */
const guarded = new WeakMap<FlowContext, string>();

export async function guardDeliveryOnce(ctx: FlowContext): Promise<ValveResult> {
  const address = ctx.state.destination?.address;
  if (address !== undefined && guarded.get(ctx) === address) return undefined;
  const refused = await guardDelivery(ctx);
  if (refused) return refused;
  if (address !== undefined) guarded.set(ctx, address);
  return undefined;
}
