import { createECDH, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The provider's signing keys (private JWKs): `oidc.jwks_file`, else env OIDC_JWKS (the JSON of a key set), else a
 * development key. The development key is derived from a fixed string, so every process of a development
 * deployment signs alike (two processes, one login); production refuses it (ops/production-guards).
 */
export interface SigningKeys {
  keys: Record<string, unknown>[];
  development: boolean;
}

const DEV_KEY_SEED = 'otp-authenticator-dev-oidc-signing-key-do-not-use-in-production';

function developmentKey(): Record<string, unknown> {
  const d = createHash('sha256').update(DEV_KEY_SEED).digest();
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  const b64 = (b: Buffer) => b.toString('base64url');
  return { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33, 65)), kid: 'dev-es256', alg: 'ES256', use: 'sig' };
}

function parseKeySet(text: string, from: string): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${from} is not JSON (a JSON Web Key Set: { "keys": [...] })`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'object' || k === null || typeof (k as { d?: unknown }).d !== 'string')) {
    throw new Error(`${from} must be a JSON Web Key Set of private keys: { "keys": [{ "kty", "kid", "d", ... }] }`);
  }
  return keys as Record<string, unknown>[];
}

export function signingKeys(jwksFile: string | undefined, configDir: string, env: NodeJS.ProcessEnv): SigningKeys {
  if (jwksFile) {
    const file = path.resolve(configDir, jwksFile);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new Error(`oidc.jwks_file ${file} cannot be read`);
    }
    return { keys: parseKeySet(text, `oidc.jwks_file ${file}`), development: false };
  }
  if (env.OIDC_JWKS) return { keys: parseKeySet(env.OIDC_JWKS, 'OIDC_JWKS'), development: false };
  return { keys: [developmentKey()], development: true };
}

/** The ID token algorithm the clients get: RS256 when an RSA key is there (what every client reads), else ES256. */
export function idTokenAlgorithm(keys: readonly Record<string, unknown>[]): string {
  return keys.some((k) => k.kty === 'RSA') ? 'RS256' : 'ES256';
}
