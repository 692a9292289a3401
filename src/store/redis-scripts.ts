/**
 * The Lua scripts of the Redis TransactionStore (the keys they touch: src/redis/keys.ts). Each mutating store
 * operation is one of these scripts, run with EVALSHA (one round trip; EVAL once when the server answers NOSCRIPT).
 *
 * Two kinds (see the top of redis-store.ts for why):
 * - `CAS`: the generic compare-and-set. The pure TypeScript transition decides; the script writes the new
 *   record only when the stored one is still the one the decision was made on (its stamp `id#version`), and
 *   answers the current record otherwise. Used by open, reserveSend, commitSend, releaseSend and cancel.
 * - `RESERVE_ATTEMPT` and `RECORD_OUTCOME`: the two entry steps (the hot path) as Lua over the JSON record with
 *   cjson. They mirror `reserveAttempt` and `recordOutcome` of src/transaction/entry.ts line for line; those
 *   TypeScript functions remain the specification, and test/support/store-contract.ts runs the same scenarios
 *   against both stores and compares records and outcomes field by field.
 *
 * A transaction is a hash: `s` (stamp `id#version`), `f` (forget-at, epoch ms, also its PEXPIREAT), `rec` (the
 * record as JSON), and, when the entry limits are folded in, `ew`/`ec` (the entries-per-minute window end and
 * count). cjson encodes an empty array as `{}`: the TypeScript side repairs the array fields when decoding.
 */
import { createHash } from 'node:crypto';
import { STALE_RESERVATION_MS } from '../transaction/index.js';
import { SHARED_BUDGET_TTL_MS } from './types.js';

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, body: string): LuaScript {
  const source = `${PRELUDE}\n${body}`;
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** Helpers every script shares; pure mirrors of transaction/view.ts (forgetAt, isCodeLive). */
const PRELUDE = String.raw`
local function num(x) return string.format('%.0f', x) end
local function isnull(x) return x == nil or x == cjson.null end
local function ceil_s(ms) local s = math.ceil(ms / 1000); if s < 1 then s = 1 end; return s end
local function stamp(tx) return tx.id .. '#' .. num(tx.version) end
-- The live record at now, or nil; a record past its forget-at is gone even before Redis expired it.
local function load_tx(key, now, drop_dead)
  local h = redis.call('HMGET', key, 's', 'f', 'rec')
  if not h[1] or not h[3] then return nil, '' end
  if tonumber(h[2]) <= now then
    if drop_dead then redis.call('DEL', key) end
    return nil, ''
  end
  local tx = cjson.decode(h[3])
  if type(tx.codes) ~= 'table' then tx.codes = {} end
  if type(tx.entry_reservations) ~= 'table' then tx.entry_reservations = {} end
  return tx, h[3]
end
-- forgetAt of transaction/view.ts
local function forget_at(tx, ttl)
  if not isnull(tx.finished_at) then return tx.finished_at + ttl end
  local last = 0
  for _, c in ipairs(tx.codes) do if c.expires_at > last then last = c.expires_at end end
  local at = tx.created_at + ttl
  if last > at then at = last end
  return at + ttl
end
local function save_tx(key, tx, ttl)
  local f = forget_at(tx, ttl)
  local rec = cjson.encode(tx)
  redis.call('HSET', key, 's', stamp(tx), 'f', num(f), 'rec', rec)
  redis.call('PEXPIREAT', key, num(f))
  return rec
end
-- isCodeLive of transaction/view.ts
local function is_live(tx, c, now)
  return tx.phase == 'PENDING' and not c.killed and tx.accepted_code_id ~= c.id and now < c.expires_at
end
-- wrongSoFar and attemptsLeft of transaction/view.ts
local function attempts_left(tx, max)
  local w = tx.wrong_entries
  if type(tx.group_wrong_entries) == 'number' and tx.group_wrong_entries > w then w = tx.group_wrong_entries end
  local n = max - w
  if n < 0 then n = 0 end
  return n
end
-- A Selector's shared budget (SharedBudget of transaction/record.ts): the key at KEYS[index], or nil when index is
-- 0; w wrong entries, f in flight, r when the latest was reserved.
local function shared_budget(index)
  local i = tonumber(index or '0')
  if i == nil or i <= 0 then return nil, 0, 0, 0 end
  local b = redis.call('HMGET', KEYS[i], 'w', 'f', 'r')
  return KEYS[i], tonumber(b[1] or '0'), tonumber(b[2] or '0'), tonumber(b[3] or '0')
end
-- liveShared of transaction/entry.ts: reservations gone stale dropped, never fewer wrong than the record's own.
local STALE_RESERVATION_MS = ${STALE_RESERVATION_MS}
local function live_budget(w, f, r, now, tx)
  if r > 0 and now - r > STALE_RESERVATION_MS then f = 0 end
  if tx.wrong_entries > w then w = tx.wrong_entries end
  return w, f
end
local SHARED_BUDGET_TTL_MS = ${SHARED_BUDGET_TTL_MS}
local function save_budget(bk, w, f, r)
  if f < 0 then f = 0 end
  redis.call('HSET', bk, 'w', num(w), 'f', num(f))
  if r then redis.call('HSET', bk, 'r', num(r)) end
  redis.call('PEXPIRE', bk, SHARED_BUDGET_TTL_MS)
end
`;

/** KEYS[1] tx. Answers { stamp, forget-at, record JSON } as stored (the caller judges liveness at its `now`). */
export const READ_TX = script('read_tx', String.raw`
return redis.call('HMGET', KEYS[1], 's', 'f', 'rec')
`);

/** KEYS[1] a Selector's shared budget. Answers { wrong entries, in flight } (nil when none is held). */
export const READ_BUDGET = script('read_budget', String.raw`
return redis.call('HMGET', KEYS[1], 'w', 'f')
`);

/**
 * sharedOnOpen of transaction/entry.ts, after `open` created a choice's record: a spent budget starts again.
 * KEYS[1] the shared budget; ARGV[1] max entries. Answers 1 when it reset the budget.
 */
export const RESET_SPENT_BUDGET = script('reset_spent_budget', String.raw`
local w = tonumber(redis.call('HGET', KEYS[1], 'w') or '0')
if w < tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'w', 0, 'f', 0)
redis.call('PEXPIRE', KEYS[1], SHARED_BUDGET_TTL_MS)
return 1
`);

/**
 * claimSwitch: a Selector's change of choice, counted in the login's shared budget unless max were counted.
 * KEYS[1] the shared budget; ARGV[1] max switches. Answers 1 when it counted the switch.
 */
export const CLAIM_SWITCH = script('claim_switch', String.raw`
local s = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
if s >= tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('PEXPIRE', KEYS[1], SHARED_BUDGET_TTL_MS)
return 1
`);

/** KEYS[1] lockout. Answers the stored Lockout JSON or false. */
export const READ_LOCK = script('read_lock', String.raw`
return redis.call('GET', KEYS[1])
`);

/** KEYS[1] lockout. Answers 1 when one was there. */
export const UNLOCK = script('unlock', String.raw`
return redis.call('DEL', KEYS[1])
`);

/**
 * TOTP replay guard. KEYS[1] the secret's step key; ARGV[1] the accepted step, ARGV[2] when it may go (ms).
 * Answers 1 when it recorded the step, 0 when that step or a later one is recorded.
 */
export const CLAIM_TOTP_STEP = script('claim_totp_step', String.raw`
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1
`);

export const PING = script('ping', String.raw`
return 'PONG'
`);

/**
 * Compare-and-set of one transaction record, optionally also checking the subject's lockout (open decides with it).
 * KEYS[1] tx, KEYS[2] lockout (optional).
 * ARGV[1] expected stamp ('' = no live record), ARGV[2] now, ARGV[3] new stamp ('' = write nothing),
 * ARGV[4] new record JSON, ARGV[5] its forget-at, ARGV[6] expected lockout until ('0' = none),
 * ARGV[7] '1' when the write creates a new record (the old hash, window counters included, is dropped).
 * Answers { 'OK' } or { 'CONFLICT', current record JSON or '', its forget-at or '', current lockout JSON or '' }.
 */
export const CAS = script('cas', String.raw`
local now = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 's', 'f', 'rec')
local cur, rec, f = '', '', ''
if h[1] and h[3] and tonumber(h[2]) > now then cur = h[1]; rec = h[3]; f = h[2] end
local lock_raw, lock_until = '', 0
if KEYS[2] then
  local l = redis.call('GET', KEYS[2])
  if l then
    local u = cjson.decode(l)['until']
    if now < u then lock_raw = l; lock_until = u end
  end
end
if cur ~= ARGV[1] or (KEYS[2] and lock_until ~= tonumber(ARGV[6])) then
  return { 'CONFLICT', rec, f, lock_raw }
end
if ARGV[3] ~= '' then
  if ARGV[7] == '1' then redis.call('DEL', KEYS[1]) end
  redis.call('HSET', KEYS[1], 's', ARGV[3], 'f', ARGV[5], 'rec', ARGV[4])
  redis.call('PEXPIREAT', KEYS[1], ARGV[5])
end
return { 'OK' }
`);

/**
 * reserveAttempt of transaction/entry.ts, and (with KEYS[2..3]) the checks a start makes before it (SPEC section 3's
 * order): the lockout, entries_per_transaction_per_minute, failures_per_subject_per_hour; the failure point is taken
 * only when the attempt is reserved (the handler's consume-then-refund, in one step).
 * KEYS[1] tx; KEYS[2] lockout, KEYS[3] the subject's failure counter (both only for reserveEntry); the shared
 * budget of a Selector's choice at the index ARGV[7] names.
 * ARGV[1] now, ARGV[2] max entries (allowed_otp_retry + 1), ARGV[3] ttl ms,
 * ARGV[4] entries per minute (0 = off; '' = reserveAttempt alone, no checks), ARGV[5] failures per window (0 = off),
 * ARGV[6] failure window seconds, ARGV[7] the index in KEYS of the shared budget ('0' = none).
 * Answers { record JSON after the step or '' when missing, outcome JSON }.
 */
export const RESERVE_ATTEMPT = script('reserve_attempt', String.raw`
local now, max, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tx, raw = load_tx(KEYS[1], now, true)
if not tx then return { '', '' } end
local function reply(o) return { raw, cjson.encode(o) } end
local bk, shared_w, shared_f, shared_r = shared_budget(ARGV[7])
if bk then shared_w, shared_f = live_budget(shared_w, shared_f, shared_r, now, tx) end
if tx.phase == 'ABORTED' or (bk and shared_w >= max) then
  return reply({ ok = false, code = 'MAX_ATTEMPTS', evaluated = false, aborted = true, attempts_left = 0 })
end
local checks = (ARGV[4] or '') ~= ''
local entries_limit = tonumber(checks and ARGV[4] or '0')
local failures_limit = tonumber(checks and ARGV[5] or '0')
if checks then
  local l = redis.call('GET', KEYS[2])
  if l then
    local lock = cjson.decode(l)
    if now < lock['until'] then return reply({ ok = false, code = 'LOCKED', retry_after = ceil_s(lock['until'] - now), lock = lock }) end
  end
  local w = redis.call('HMGET', KEYS[1], 'ew', 'ec')
  local w_end, w_count = tonumber(w[1] or '0'), tonumber(w[2] or '0')
  if now >= w_end then w_end = now + 60000; w_count = 0 end
  if entries_limit > 0 and w_count >= entries_limit then
    return reply({ ok = false, code = 'RATE_LIMITED', limit = 'entries_per_transaction_per_minute', retry_after = ceil_s(w_end - now) })
  end
  if failures_limit > 0 then
    local used = tonumber(redis.call('GET', KEYS[3]) or '0')
    if used >= failures_limit then
      local pttl = redis.call('PTTL', KEYS[3])
      return reply({ ok = false, code = 'RATE_LIMITED', limit = 'failures_per_subject_per_hour', retry_after = ceil_s(pttl) })
    end
  end
  if entries_limit > 0 then redis.call('HSET', KEYS[1], 'ew', num(w_end), 'ec', num(w_count + 1)) end
end
if tx.phase ~= 'PENDING' or (tx.sends_codes and tx.codes_sent == 0) then
  return reply({ ok = false, code = 'NO_PENDING_CODE' })
end
local used = tx.wrong_entries + #tx.entry_reservations
if bk then used = shared_w + shared_f end
if used >= max then
  local left = attempts_left(tx, max)
  if bk then left = math.max(0, max - shared_w) end
  return reply({ ok = false, code = 'MAX_ATTEMPTS', evaluated = false, aborted = false, attempts_left = left })
end
local live = {}
for _, c in ipairs(tx.codes) do
  if is_live(tx, c, now) then live[#live + 1] = { id = c.id, hash = c.hash } end
end
tx.version = tx.version + 1
local rid = tx.id .. ':a' .. num(tx.version)
tx.entry_reservations[#tx.entry_reservations + 1] = { id = rid, at = now }
if bk then save_budget(bk, shared_w, shared_f + 1, now) end
if checks and failures_limit > 0 then
  local window = tonumber(ARGV[6])
  redis.call('SET', KEYS[3], 0, 'EX', window, 'NX')
  redis.call('INCRBY', KEYS[3], 1)
  if redis.call('PTTL', KEYS[3]) == -1 then redis.call('EXPIRE', KEYS[3], window) end
end
raw = save_tx(KEYS[1], tx, ttl)
return reply({ ok = true, reservation_id = rid, live_codes = live })
`);

/**
 * recordOutcome of transaction/entry.ts; on the abort it sets the lockout in the same script (a later lockout
 * already set is kept). With ARGV[8] '1' (recordEntry) the subject's failure point is given back unless the entry
 * was a counted wrong one (the handler's refund, in the same step).
 * A Selector's choice settles the reservation on its shared budget in the same script (sharedAfterRecord), and its
 * lockout is the selector's (lockOwner).
 * KEYS[1] tx, KEYS[2] lockout, KEYS[3] the subject's failure counter, KEYS[ARGV[9]] the shared budget.
 * ARGV[1] reservation id, ARGV[2] matched code id ('' = none), ARGV[3] '1' when the pipe accepted (TOTP),
 * ARGV[4] now, ARGV[5] max entries, ARGV[6] ttl ms, ARGV[7] lockout ms (0 = none),
 * ARGV[8] '1' to give the failure point back unless the entry counted, ARGV[9] the shared budget's index ('0' = none).
 * Answers { record JSON after the step or '' when missing, outcome JSON }.
 */
export const RECORD_OUTCOME = script('record_outcome', String.raw`
local rid, matched_id, accepted_flag = ARGV[1], ARGV[2], ARGV[3] == '1'
local now, max, ttl, lockout_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local bk, shared_w, shared_f, shared_r = shared_budget(ARGV[9])
local function refund()
  if ARGV[8] == '1' then
    local used = tonumber(redis.call('GET', KEYS[3]) or '0')
    if used > 0 then redis.call('DECRBY', KEYS[3], 1) end
  end
end
local function settle(counted)
  if not counted then refund() end
  if bk then
    local w = shared_w
    if counted then w = w + 1 end
    save_budget(bk, w, shared_f - 1)
  end
end
local tx, raw = load_tx(KEYS[1], now, true)
if not tx then settle(false); return { '', '' } end
if bk then shared_w, shared_f = live_budget(shared_w, shared_f, shared_r, now, tx) end
local idx = nil
for i, r in ipairs(tx.entry_reservations) do if r.id == rid then idx = i end end
if not idx then settle(false); return { raw, cjson.encode({ ok = false, code = 'UNKNOWN_RESERVATION' }) } end
local phase, wrong = tx.phase, tx.wrong_entries
local matched = nil
if matched_id ~= '' then
  for _, c in ipairs(tx.codes) do if c.id == matched_id and matched == nil then matched = c end end
end
local accepts
if matched then accepts = is_live(tx, matched, now) else accepts = accepted_flag and not tx.sends_codes end
table.remove(tx.entry_reservations, idx)
tx.version = tx.version + 1
local function done(o, counted)
  raw = save_tx(KEYS[1], tx, ttl)
  settle(counted)
  return { raw, cjson.encode(o) }
end
if phase == 'ABORTED' then
  return done({ ok = false, code = 'MAX_ATTEMPTS', evaluated = false, aborted = true, attempts_left = 0 }, false)
end
if phase ~= 'PENDING' then return done({ ok = false, code = 'NO_PENDING_CODE' }, false) end
-- The entry's number and the abort count the login's wrong entries when the budget is shared.
local attempt = wrong + 1
if bk then attempt = shared_w + 1 end
if accepts then
  local code_id = cjson.null
  if matched then code_id = matched.id end
  tx.phase = 'COMPLETED'; tx.accepted_code_id = code_id; tx.finished_at = now; tx.completed_at = now
  return done({ ok = true, code = 'COMPLETED', code_id = code_id, attempt = attempt, attempts_left = math.max(0, max - attempt + 1) }, false)
end
tx.wrong_entries = wrong + 1
if bk then tx.group_wrong_entries = attempt end
if attempt >= max then
  tx.phase = 'ABORTED'; tx.finished_at = now
  local lockout = cjson.null
  if lockout_ms > 0 then
    local owner = tx.authenticator_id
    if type(tx.budget_group) == 'string' then owner = tx.budget_group end
    lockout = { authenticator_id = owner, subject = tx.subject, ['until'] = now + lockout_ms }
    local l = redis.call('GET', KEYS[2])
    local keep = false
    if l then
      local old = cjson.decode(l)
      if now < old['until'] and old['until'] > lockout['until'] then keep = true end
    end
    if not keep then redis.call('SET', KEYS[2], cjson.encode(lockout), 'PXAT', num(lockout['until'])) end
  end
  return done({ ok = false, code = 'MAX_ATTEMPTS', evaluated = true, aborted = true, attempt = attempt, attempts_left = 0, lockout = lockout }, true)
end
local newest = tx.codes[#tx.codes]
local code = 'INVALID_OTP'
if newest and now >= newest.expires_at then code = 'OTP_EXPIRED' end
return done({ ok = false, code = code, attempt = attempt, attempts_left = attempts_left(tx, max) }, true)
`);
