/**
 * The CredentialStore on Redis. A subject's credentials are keyed `cred:{<subject>}:<kind>` so they share one hash
 * tag (one Cluster slot); each operation is one command or one script, so each change is atomic.
 */
import { createHash } from 'node:crypto';
import { StoreUnavailableError } from '../errors.js';
import { failAfter, storeErrorFromRedis } from '../redis/failures.js';
import type { RedisScriptClient } from '../redis/connection.js';
import { credentialKey } from '../redis/keys.js';
import type { CredentialStore, TotpCredential, TrustedDevice } from './credential-store.js';

const script = (source: string) => ({ source, sha1: createHash('sha1').update(source).digest('hex') });
const GET = script(`return redis.call('GET', KEYS[1])`);
const SET = script(`redis.call('SET', KEYS[1], ARGV[1]); return 1`);
const DEL = script(`return redis.call('DEL', KEYS[1])`);
// Read, change one field, write: in one script, so a touch never undoes an enrolment made meanwhile.
const TOUCH = script(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local c = cjson.decode(v)
c.last_used_at = tonumber(ARGV[1])
redis.call('SET', KEYS[1], cjson.encode(c))
return 1
`);

const RESEAL = script(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local c = cjson.decode(v)
if c.sealed_secret ~= ARGV[1] then return 0 end
c.sealed_secret = ARGV[2]
c.last_used_at = tonumber(ARGV[3])
redis.call('SET', KEYS[1], cjson.encode(c))
return 1
`);
// The set is replaced in one script: no moment where old and new codes both work, or neither.
const PUT_SET = script(`
redis.call('DEL', KEYS[1])
if #ARGV > 0 then redis.call('SADD', KEYS[1], unpack(ARGV)) end
return 1
`);
const COUNT = script(`return redis.call('SCARD', KEYS[1])`);
// Single use: SREM is the check and the use in one step.
const REDEEM = script(`
for _, h in ipairs(ARGV) do
  if redis.call('SREM', KEYS[1], h) == 1 then return { 1, redis.call('SCARD', KEYS[1]) } end
end
return { 0, redis.call('SCARD', KEYS[1]) }
`);

const HSET_ONE = script(`redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]); return 1`);
const HGETALL = script(`return redis.call('HVALS', KEYS[1])`);
const TOUCH_DEVICE = script(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local d = cjson.decode(v)
d.last_used_at = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
return 1
`);
const REVOKE = script(`
if ARGV[1] == 'all' then
  local n = redis.call('HLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
  return n
end
return redis.call('HDEL', KEYS[1], ARGV[1])
`);

export class RedisCredentialStore implements CredentialStore {
  constructor(
    private readonly client: RedisScriptClient,
    private readonly prefix = 'otp:',
    private readonly timeoutMs = 2000,
  ) {}

  async getTotp(subject: string): Promise<TotpCredential | null> {
    const raw = (await this.run(GET, credentialKey(this.prefix, subject, 'totp'), [])) as string | null;
    return raw === null ? null : (JSON.parse(raw) as TotpCredential);
  }

  async putTotp(subject: string, credential: TotpCredential): Promise<void> {
    await this.run(SET, credentialKey(this.prefix, subject, 'totp'), [JSON.stringify(credential)]);
  }

  async touchTotp(subject: string, at: number): Promise<void> {
    await this.run(TOUCH, credentialKey(this.prefix, subject, 'totp'), [String(at)]);
  }

  async removeTotp(subject: string): Promise<boolean> {
    return (await this.run(DEL, credentialKey(this.prefix, subject, 'totp'), [])) === 1;
  }

  async resealTotp(subject: string, from: string, to: string, at: number): Promise<boolean> {
    return (await this.run(RESEAL, credentialKey(this.prefix, subject, 'totp'), [from, to, String(at)])) === 1;
  }

  async putRecoveryCodes(subject: string, set: { hashes: readonly string[] }): Promise<void> {
    await this.run(PUT_SET, credentialKey(this.prefix, subject, 'recovery'), [...set.hashes]);
  }

  async recoveryCodesLeft(subject: string): Promise<number> {
    return Number(await this.run(COUNT, credentialKey(this.prefix, subject, 'recovery'), []));
  }

  async redeemRecoveryCode(subject: string, candidates: readonly string[]): Promise<{ redeemed: boolean; left: number }> {
    const [hit, left] = (await this.run(REDEEM, credentialKey(this.prefix, subject, 'recovery'), [...candidates])) as [number, number];
    return { redeemed: hit === 1, left: Number(left) };
  }

  async putDevice(subject: string, device: TrustedDevice): Promise<void> {
    await this.run(HSET_ONE, credentialKey(this.prefix, subject, 'devices'), [device.id, JSON.stringify(device)]);
  }

  async getDevices(subject: string): Promise<TrustedDevice[]> {
    const values = (await this.run(HGETALL, credentialKey(this.prefix, subject, 'devices'), [])) as string[];
    return values.map((v) => JSON.parse(v) as TrustedDevice);
  }

  async touchDevice(subject: string, id: string, at: number): Promise<void> {
    await this.run(TOUCH_DEVICE, credentialKey(this.prefix, subject, 'devices'), [id, String(at)]);
  }

  async revokeDevices(subject: string, which: string): Promise<number> {
    return Number(await this.run(REVOKE, credentialKey(this.prefix, subject, 'devices'), [which]));
  }

  async close(): Promise<void> {}

  private async run(s: { source: string; sha1: string }, key: string, args: string[]): Promise<unknown> {
    if (!(this.client.isReady ?? this.client.isOpen)) throw new StoreUnavailableError('Redis is not connected');
    const options = { keys: [key], arguments: args };
    try {
      try {
        return await failAfter(this.client.evalSha(s.sha1, options), this.timeoutMs);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
        return await failAfter(this.client.eval(s.source, options), this.timeoutMs);
      }
    } catch (error) {
      throw storeErrorFromRedis(error);
    }
  }
}
