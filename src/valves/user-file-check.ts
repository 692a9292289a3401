/**
 * UserFileCheck: the demo password check against a JSON file of users with scrypt hashes. The file
 * is read once, when the pipe is built, so a broken file stops start-up instead of a login.
 *
 * An unknown user costs the same scrypt work as a wrong password (against a dummy hash made with
 * the default parameters), so timing does not tell which usernames exist.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { MAX_PASSWORD_LENGTH, hashPassword, parsePasswordHash, verifyPassword, type ParsedHash } from './password-hash.js';

export const DEFAULT_USER_FILE = 'demo-users.json';
const MAX_IDENTIFIER_LENGTH = 256;

/** What the user file holds per user; the fields other than `password_hash` are exported (to the session, not to pages). */
export interface UserRecord {
  username: string;
  password_hash: string;
  mobile?: string;
  email?: string;
  fn?: string;
  ln?: string;
  /** Base32 secret of the user's authenticator app, for TotpValidate (`${exports.totp_secret}`); never shown. */
  totp_secret?: string;
}

const PUBLIC_FIELDS = ['username', 'mobile', 'email', 'fn', 'ln', 'totp_secret'] as const;

interface LoadedUser {
  record: UserRecord;
  hash: ParsedHash;
}

export interface UserFileCheckConfig {
  file?: string;
}

export const userFileCheckSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    file: { type: 'string', minLength: 1, description: 'Users file, relative to the config file folder (default demo-users.json).' },
  },
};

/** Usernames compare trimmed and case-insensitively: "Alice " is alice. */
function userKey(identifier: string): string {
  return identifier.normalize('NFKC').trim().toLowerCase();
}

const cache = new Map<string, Map<string, LoadedUser>>();

/** Reads and checks a users file (cached by absolute path); throws with the file named when it is wrong. */
export function loadUserFile(file: string): Map<string, LoadedUser> {
  const cached = cache.get(file);
  if (cached) return cached;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`UserFileCheck: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const list = (data as { users?: unknown })?.users;
  if (!Array.isArray(list)) throw new Error(`UserFileCheck: ${file} must hold { "users": [...] }`);
  const users = new Map<string, LoadedUser>();
  list.forEach((entry: unknown, i) => {
    const record = entry as Partial<UserRecord> | null;
    if (typeof record?.username !== 'string' || record.username.trim() === '') {
      throw new Error(`UserFileCheck: ${file} users[${i}].username must be a non-empty string`);
    }
    const hash = typeof record.password_hash === 'string' ? parsePasswordHash(record.password_hash) : null;
    if (!hash) throw new Error(`UserFileCheck: ${file} users[${i}].password_hash is not a scrypt$N$r$p$salt$hash string`);
    const key = userKey(record.username);
    if (users.has(key)) throw new Error(`UserFileCheck: ${file} lists "${record.username}" twice`);
    users.set(key, { record: record as UserRecord, hash });
  });
  cache.set(file, users);
  return users;
}

let dummy: Promise<ParsedHash> | undefined;
function dummyHash(): Promise<ParsedHash> {
  dummy ??= hashPassword('not a password of anyone').then((stored) => parsePasswordHash(stored) as ParsedHash);
  return dummy;
}

export const userFileCheck: ValveFactory<UserFileCheckConfig> = (config, deps) => {
  const file = path.resolve(deps.configDir, config.file ?? DEFAULT_USER_FILE);
  const users = loadUserFile(file);
  // Made now so the first login does not pay for it (and so its timing matches the others).
  void dummyHash();

  return {
    async run(ctx) {
      const identifier = ctx.state['identifier'];
      const password = ctx.state['password'];
      const usable =
        typeof identifier === 'string' &&
        identifier.length <= MAX_IDENTIFIER_LENGTH &&
        typeof password === 'string' &&
        password.length > 0 &&
        password.length <= MAX_PASSWORD_LENGTH;
      const user = usable ? users.get(userKey(identifier)) : undefined;
      const ok = await verifyPassword(usable ? password : '', user?.hash ?? (await dummyHash()));
      if (!user || !ok) return failFlow(FlowReason.INVALID_CREDENTIALS);
      for (const field of PUBLIC_FIELDS) {
        const value = user.record[field];
        if (typeof value === 'string') ctx.exports[field] = value;
      }
      return undefined;
    },
  };
};
