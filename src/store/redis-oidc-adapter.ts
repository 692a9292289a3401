/**
 * oidc-provider's Adapter on Redis, so the provider's sessions, grants, interactions, codes and tokens live on the
 * same connection as our transactions (`store.type: "redis"`). One class per model name, made by oidc-provider
 * with `new Adapter(name)`.
 *
 * A store dump reveals no usable secret (docs/security.md). For most models the id IS the secret: the opaque
 * value of an AccessToken, RefreshToken, AuthorizationCode, DeviceCode, ClientCredentials,
 * BackchannelAuthenticationRequest, PreAuthorizedCode, PushedAuthorizationRequest (its request_uri), an
 * Interaction's uid (in its URL and cookie). So every record is named by `h(id)`, the SHA-256 of its id (hex), the
 * stored JSON holds no field equal to the id (`jti`, mostly: its name is kept, its value put back by `find(id)`),
 * and the few fields that name another secret are sealed under a key only the id gives (SEALED below). Except
 * Session: a session id is the `_session` cookie's value, kept as it is (the key names the id, the JSON has `jti`)
 * on purpose: the Express session's id sits in connect-redis's key names all the same (`otp:sess:<id>`), so hashing
 * one would not make a dump any safer, and keeping it makes a session findable by its cookie.
 *
 * Keys (all under `prefix`, `oidc:` written `{oidc}:` for Redis Cluster, below):
 * - `oidc:<Model>:<h(id)>` (`oidc:Session:<id>`): a hash, `payload` (the provider's payload as JSON, less the
 *   fields below), `ids` (the names of the payload's fields equal to the id, as JSON, usually `["jti"]`), `sealed`
 *   (SEALED's fields, AES-256-GCM under a key derived from the id), `consumed` (epoch seconds, once consumed) and
 *   `idx` (the lookup keys below that point at this record, with what each holds, as JSON, so destroy can drop
 *   them). Model names are PascalCase (`Session`, `AccessToken`), so they never meet the lower-case index names.
 * - `oidc:grant:<h(grantId)>`: a sorted set of the record keys of the grant's tokens (AccessToken,
 *   AuthorizationCode, RefreshToken, DeviceCode, ...), so hashed names, never ids; each scored with when it expires
 *   (epoch ms), for revokeByGrantId.
 * - `oidc:uid:<uid>`: a Session's uid, a string: the session id (Session's index, kept as Session is).
 * - `oidc:user_code:<h(userCode)>`: a device flow user code (a secret the user types), a string: the device code's
 *   id sealed under a key derived from the user code, so that only one who has the user code finds the device code.
 *   A user code is short (8 characters of 20 by default, ~35 bits): its SHA-256 falls to an offline search, so a
 *   dump still gives away a pending device flow to one who searches within the code's lifetime; a keyed hash (an
 *   HMAC under a server secret) would close that. The device flow is off in our provider configuration.
 * A hash is the last part of a key and model names hold no `:`, so no id can make two keys collide.
 *
 * Nothing lives for ever: every record and lookup key gets the `expiresIn` of its upsert, and the grant index
 * lives as long as its longest-lived member (PEXPIREAT at the highest score; expired members are pruned on each
 * write, so an active grant whose refresh tokens rotate does not grow without bound). A record so ends at its
 * `exp`, where oidc-provider's memory adapter keeps it `clockTolerance` (15 s) longer and the provider would still
 * take it: here a token ends when it says it does. An upsert without `expiresIn` is refused: oidc-provider sends
 * one only for dynamically registered clients, which we do not enable, and a registration that never expires
 * should be a decision, not a side effect.
 *
 * `consume` is the one check-and-set of a single-use record (an authorization code, a rotating refresh token, a
 * device code, ...): oidc-provider finds the record, checks its `consumed`, then consumes it, with round trips in
 * between, so parallel redemptions of one code all pass its check. Here the CONSUME script marks the record only
 * when it is not marked yet (HSETNX; and only an existing record: HSET on a missing key would create one without a
 * TTL) and says whether this call did it. Exactly one call wins; every other one is a replay and is treated as
 * the provider treats the replay it sees itself (RFC 6749 4.1.2, grant_source.js): the record's grant is revoked
 * (its Grant record first, then every token of its grant index, as revokeByGrantId), and the call throws
 * oidc-provider's InvalidGrant, so the token endpoint answers invalid_grant (InvalidRequestUri for a pushed
 * authorization request, which has no grant and is consumed at the authorization endpoint). The Grant goes
 * too, as the provider's own revocation does under its default revokeGrantPolicy: the winner may still be saving
 * its tokens after the loser revoked the index, and the provider refuses every token whose Grant is gone. A
 * record gone by the time of `consume` (revoked by a parallel replay, destroyed, expired) is refused the same
 * way, without a revocation: its grant is not known any more.
 *
 * Every command is a Lua script naming each key it touches in KEYS, run with EVALSHA (EVAL after NOSCRIPT), as
 * the other Redis stores do; a Redis failure becomes StoreUnavailableError (src/redis/failures.ts), so the
 * provider's callers see the same outage as the rest of the app.
 *
 * Redis Cluster: every key carries the one hash tag `{oidc}` (`otp:{oidc}:AccessToken:<h(id)>`), so each script
 * (a record with its grant index and uid index; a grant's revocation with all its tokens) stays in one slot and
 * atomic. The price is that a Cluster keeps all OIDC data on one master (and its replica); it is small beside the
 * transactions (a few records per login, gone at their `exp`), which spread over every slot by subject.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { errors, type Adapter, type AdapterConstructor, type AdapterPayload } from 'oidc-provider';
import { StoreUnavailableError } from '../errors.js';
import type { RedisScriptClient } from '../redis/connection.js';
import { failAfter, storeErrorFromRedis } from '../redis/failures.js';

interface Script {
  readonly source: string;
  readonly sha1: string;
}

const script = (source: string): Script => ({ source, sha1: createHash('sha1').update(source).digest('hex') });

// KEYS[1] the record, KEYS[2..] its indexes. ARGV: ttl (s), the position of the grant index in KEYS ('0': none),
// n, then n field/value pairs of the record, then the value of each lookup key (every index but the grant's), in
// KEYS order. Replaces the record whole (a re-save drops an old `consumed` unless the payload carries it, as
// oidc-provider's own memory adapter does).
const UPSERT = script(`
local ttl = tonumber(ARGV[1])
local grant = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n))
redis.call('EXPIRE', KEYS[1], ttl)
local v = 4 + 2 * n
for i = 2, #KEYS do
  if i == grant then
    -- Redis's own clock, the one its TTLs run on: a member is pruned only once its record has expired too.
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', string.format('%.0f', now))
    redis.call('ZADD', KEYS[i], string.format('%.0f', now + ttl * 1000), KEYS[1])
    local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
    redis.call('PEXPIREAT', KEYS[i], last[2])
  else
    redis.call('SET', KEYS[i], ARGV[v], 'EX', ttl)
    v = v + 1
  end
end
return 1
`);
const FIND = script(`return redis.call('HMGET', KEYS[1], 'payload', 'consumed', 'ids', 'sealed')`);
const GET = script(`return redis.call('GET', KEYS[1])`);
// Check-and-set: 1 when this call consumed the record; else {0, payload} when it was consumed already (the first
// consumption's time stays), 0 alone when it is missing (and it is left missing).
const CONSUME = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1]) == 1 then return 1 end
return {0, redis.call('HGET', KEYS[1], 'payload')}
`);
// Answers the record's lookup keys, so they can be dropped next (they are other keys, named in the next call).
const DESTROY = script(`
local idx = redis.call('HGET', KEYS[1], 'idx')
redis.call('DEL', KEYS[1])
return idx
`);
// KEYS[i] is dropped only while it still holds ARGV[i], what this record wrote there: a session that rotated
// (upsert(new) landing before destroy(old)) keeps its uid, a user code taken over by a newer device code stays.
const DROP_LOOKUPS = script(`
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]) end
end
return 1
`);
// KEYS[1] the grant index, KEYS[2..] members read in the previous round (none in the first, but the Grant record in
// a replay's first round: a key that is no member is deleted all the same, its ZREM a no-op); deletes them and
// answers up to 500 members still listed (the rest, or a token issued meanwhile). The last ZREM removes the index
// itself: Redis keeps no empty sorted set.
const REVOKE = script(`
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], KEYS[i])
end
return redis.call('ZRANGE', KEYS[1], 0, 499)
`);

/** The models oidc-provider revokes by grant (its memory adapter's list). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** What the provider calls each single-use model in its error details (grant_source.js). */
const CONSUMABLE_LABELS: Readonly<Record<string, string>> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  BackchannelAuthenticationRequest: 'backchannel authentication request',
  PreAuthorizedCode: 'pre-authorized code',
  PushedAuthorizationRequest: 'pushed authorization request',
};

/**
 * Payload fields that name another secret (or hold the record's own id within a value), stored sealed under a key
 * derived from the record's id: a device code's user code; an interaction's device code, its pushed request's id
 * and its `returnTo` (the resume URL, which ends in the interaction's uid).
 */
const SEALED: Readonly<Record<string, readonly string[]>> = {
  DeviceCode: ['userCode'],
  Interaction: ['deviceCode', 'parJti', 'returnTo'],
};

/** The one model whose records keep their id in the clear (see the head of this file). */
const CLEAR = 'Session';

const TIMEOUT_MS = 2000;
/** Rounds of revokeByGrantId before giving up: each takes up to 500 members; more means tokens keep coming. */
const MAX_REVOKE_ROUNDS = 100;

/** The name a secret gets in a key: its SHA-256, hex. */
const h = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * AES-256-GCM under a key derived from `secret` (HMAC-SHA-256 of `label` keyed by it, so unrelated to `h(secret)`),
 * `label` also the associated data: base64url of iv (12) | tag (16) | ciphertext.
 */
function seal(plain: string, secret: string, label: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', createHmac('sha256', secret).update(label).digest(), iv);
  cipher.setAAD(Buffer.from(label, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** `seal` undone; undefined for anything that does not open under this secret and label. */
function open(sealed: string, secret: string, label: string): string | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 28) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', createHmac('sha256', secret).update(label).digest(), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(label, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** The namespace, and the Cluster hash tag, of every OIDC key: one slot for all (the header says why). */
const OIDC_NS = '{oidc}:';
const USER_CODE_LABEL = 'oidc:user_code';

class RedisOidcRecords implements Adapter {
  constructor(
    private readonly client: RedisScriptClient,
    private readonly prefix: string,
    readonly name: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (typeof expiresIn !== 'number' || Number.isNaN(expiresIn)) {
      throw new TypeError(`redisOidcAdapter: ${this.name}.upsert without expiresIn; every oidc key must expire`);
    }
    // Session.persist() near the end of a session can ask for 0 or less: the record has expired already.
    if (expiresIn <= 0) return this.destroy(id);
    const keys = [this.recordKey(id)];
    let grantAt = 0;
    if (GRANTABLE.has(this.name) && typeof payload.grantId === 'string') {
      keys.push(this.indexKey('grant', payload.grantId));
      grantAt = keys.length;
    }
    // Each lookup key with what it holds: a session's id (in the clear, as Session is), a device code's id sealed
    // under its user code.
    const lookups: [string, string][] = [];
    if (this.name === CLEAR && typeof payload.uid === 'string') lookups.push([`${this.prefix}${OIDC_NS}uid:${payload.uid}`, id]);
    if (typeof payload.userCode === 'string') {
      lookups.push([this.indexKey('user_code', payload.userCode), seal(id, payload.userCode, USER_CODE_LABEL)]);
    }
    keys.push(...lookups.map(([key]) => key));
    const fields = this.fieldsOf(id, payload);
    if (lookups.length > 0) fields.push(['idx', JSON.stringify(lookups)]);
    await this.run(UPSERT, keys, [
      String(Math.ceil(expiresIn)),
      String(grantAt),
      String(fields.length),
      ...fields.flat(),
      ...lookups.map(([, value]) => value),
    ]);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const [json, consumed, ids, sealed] = (await this.run(FIND, [this.recordKey(id)], [])) as (string | null)[];
    if (json === null || json === undefined) return undefined;
    const payload = JSON.parse(json) as AdapterPayload;
    for (const field of ids ? (JSON.parse(ids) as string[]) : []) payload[field] = id;
    if (sealed) {
      const opened = open(sealed, id, this.sealLabel());
      // Only a changed record fails to open under its own id: it is not the provider's any more.
      if (opened === undefined) return undefined;
      Object.assign(payload, JSON.parse(opened) as AdapterPayload);
    }
    if (consumed !== null && consumed !== undefined) payload.consumed = Number(consumed);
    return payload;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = (await this.run(GET, [`${this.prefix}${OIDC_NS}uid:${uid}`], [])) as string | null;
    const found = id === null ? undefined : await this.find(id);
    return found?.uid === uid ? found : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const sealedId = (await this.run(GET, [this.indexKey('user_code', userCode)], [])) as string | null;
    const id = sealedId === null ? undefined : open(sealedId, userCode, USER_CODE_LABEL);
    const found = id === undefined ? undefined : await this.find(id);
    return found?.userCode === userCode ? found : undefined;
  }

  /**
   * Marks the record consumed, once: a second consumption (a parallel redemption that passed the provider's own
   * `consumed` check) revokes the record's grant and throws InvalidGrant, as does a record that is gone.
   */
  async consume(id: string): Promise<void> {
    const answer = (await this.run(CONSUME, [this.recordKey(id)], [String(Math.floor(Date.now() / 1000))])) as
      | number
      | [number, string | null];
    if (answer === 1) return;
    const label = CONSUMABLE_LABELS[this.name] ?? this.name;
    if (Array.isArray(answer)) {
      const json = answer[1];
      const grantId = typeof json === 'string' ? (JSON.parse(json) as AdapterPayload).grantId : undefined;
      if (typeof grantId === 'string') await this.revokeGrant(grantId);
      if (this.name === 'PushedAuthorizationRequest') {
        throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
      }
      throw new errors.InvalidGrant(`${label} already consumed`);
    }
    if (this.name === 'PushedAuthorizationRequest') {
      throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
    }
    throw new errors.InvalidGrant(`${label} not found`);
  }

  async destroy(id: string): Promise<void> {
    const idx = (await this.run(DESTROY, [this.recordKey(id)], [])) as string | null;
    // A token stays listed in its grant index until the index is pruned or expires: revoking a deleted key is a no-op.
    const lookups = idx === null ? [] : (JSON.parse(idx) as [string, string][]);
    if (lookups.length > 0) await this.run(DROP_LOOKUPS, lookups.map(([key]) => key), lookups.map(([, value]) => value));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    return this.revokeIndex(grantId, []);
  }

  /**
   * A replay's revocation: the Grant record (deleted in the first round, so the provider refuses every token of
   * the grant from then on, one saved after this too), then every token listed in the grant's index.
   */
  private async revokeGrant(grantId: string): Promise<void> {
    return this.revokeIndex(grantId, [oidcRecordKey(this.prefix, 'Grant', grantId)]);
  }

  /** Rounds of REVOKE on the grant's index, the first also deleting `first` (keys that are no members: no ZREM). */
  private async revokeIndex(grantId: string, first: string[]): Promise<void> {
    // A revoked device code's user_code key is left to expire: it points at nothing, so findByUserCode finds nothing.
    const index = this.indexKey('grant', grantId);
    let members: string[] = first;
    for (let round = 0; round < MAX_REVOKE_ROUNDS; round += 1) {
      members = (await this.run(REVOKE, [index, ...members], [])) as string[];
      if (members.length === 0) return;
    }
    throw new Error(`redisOidcAdapter: grant ${grantId} still had tokens after ${MAX_REVOKE_ROUNDS} rounds of revocation`);
  }

  /**
   * The record's hash fields: the payload as JSON less every field equal to the id (named in `ids`) and SEALED's
   * fields (in `sealed`). A Session's payload is kept whole.
   */
  private fieldsOf(id: string, payload: AdapterPayload): [string, string][] {
    if (this.name === CLEAR) return [['payload', JSON.stringify(payload)]];
    const sealable = SEALED[this.name] ?? [];
    const kept: AdapterPayload = {};
    const ids: string[] = [];
    const hidden: AdapterPayload = {};
    for (const [field, value] of Object.entries(payload)) {
      if (value === id) ids.push(field);
      else if (value !== undefined && sealable.includes(field)) hidden[field] = value;
      else kept[field] = value;
    }
    const fields: [string, string][] = [['payload', JSON.stringify(kept)]];
    if (ids.length > 0) fields.push(['ids', JSON.stringify(ids)]);
    if (Object.keys(hidden).length > 0) fields.push(['sealed', seal(JSON.stringify(hidden), id, this.sealLabel())]);
    return fields;
  }

  private sealLabel(): string {
    return `oidc:${this.name}:sealed`;
  }

  /** `oidc:<Model>:<h(id)>`; a Session's `oidc:Session:<id>`. */
  private recordKey(id: string): string {
    return oidcRecordKey(this.prefix, this.name, id);
  }

  private indexKey(kind: 'grant' | 'user_code', value: string): string {
    return `${this.prefix}${OIDC_NS}${kind}:${h(value)}`;
  }

  /** One round trip: EVALSHA, or EVAL when the server lost its script cache; failures mapped like the other stores. */
  private async run(s: Script, keys: string[], args: string[]): Promise<unknown> {
    if (!(this.client.isReady ?? this.client.isOpen)) throw new StoreUnavailableError('Redis is not connected');
    const options = { keys, arguments: args };
    try {
      try {
        return await failAfter(this.client.evalSha(s.sha1, options), TIMEOUT_MS);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
        return await failAfter(this.client.eval(s.source, options), TIMEOUT_MS);
      }
    } catch (error) {
      throw storeErrorFromRedis(error);
    }
  }
}

/**
 * The Redis key of the record `id` of `model` under `prefix`: `<prefix>oidc:<model>:<SHA-256 of id, hex>`, or
 * `<prefix>oidc:Session:<id>` for a Session. For an operator (or a test) who holds a token and wants its record.
 */
export function oidcRecordKey(prefix: string, model: string, id: string): string {
  return `${prefix}${OIDC_NS}${model}:${model === CLEAR ? id : h(id)}`;
}

/**
 * The `adapter` of oidc-provider's configuration on `client` (a connected node-redis 5 client or Sentinel, the one
 * the transaction store uses), keys under `prefix` (the store's prefix, e.g. `otp:`).
 */
export function redisOidcAdapter(client: RedisScriptClient, prefix: string): AdapterConstructor {
  return class RedisOidcAdapter extends RedisOidcRecords {
    constructor(name: string) {
      super(client, prefix, name);
    }
  };
}
