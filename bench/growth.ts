/**
 * Cost as the work grows, on the memory store directly (no HTTP). Run in its own process with the GC exposed:
 *   node --expose-gc --import tsx bench/growth.ts [--heap N] [--sizes 1000,1000000] [--iterations N]
 * bench/run.ts does that and parses the one JSON line this prints last.
 *
 * 1. Heap bytes per pending transaction: gc, heapUsed; insert N transactions through the store's own operations
 *    (open + reserveSend('first') + commitSend: a PENDING transaction holding one code, exactly what a GET leaves
 *    behind); gc, heapUsed; (after - before) / N. Everything the store keeps counts: the record, its code, the
 *    table and expiry index entries (and any key string), and the session id and subject strings (made inside
 *    the window and kept only by the store). Keys are shaped like the real ones (32-char session id, 12-char
 *    subject); the transaction id is the store's default and the code id is made by the product's own helper
 *    (`newId`, src/transaction/ids.ts, as src/otp/otp-sending.ts makes it), so the figure measures what the product keeps.
 * 2. The entry step's latency as the store grows: a fresh store with S pending transactions (same operations),
 *    then `iterations` times: pick a transaction (spread over the whole store, each used at most
 *    allowed_otp_retry times so every entry is really evaluated), time reserveAttempt + recordOutcome (a wrong
 *    verdict: INVALID_OTP) with process.hrtime.bigint(); median and p99 per pair. This is the store's share of a
 *    `start`, the part that could grow with the number held; the HTTP/session part does not depend on it.
 */
import { randomBytes } from 'node:crypto';
import { hashCode } from '../src/codes/code-hash.js';
import { newId } from '../src/transaction/ids.js';
import { makeOtpPolicy, type OtpPolicy } from '../src/transaction/policy.js';
import { MemoryTransactionStore } from '../src/store/memory-store.js';
import type { TxKey } from '../src/store/types.js';
import { ALLOWED_OTP_RETRY, mobileOf } from './bench-config.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') throw new Error('run with node --expose-gc');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const HEAP_N = Number(arg('heap', '100000'));
const SIZES = arg('sizes', '1000,1000000').split(',').map(Number);
const ITERATIONS = Number(arg('iterations', '20000'));
const policy: OtpPolicy = makeOtpPolicy({ allowed_otp_retry: ALLOWED_OTP_RETRY });
const KEYS = ['bench-otp-secret'];
const T0 = Date.now();

function keyOf(i: number): TxKey {
  // express-session's ids are 24 random bytes, base64url: 32 characters.
  return { sessionId: randomBytes(24).toString('base64url'), authenticatorId: 'otp', subject: `user${String(i).padStart(8, '0')}` };
}

async function insertPending(store: MemoryTransactionStore, key: TxKey, i: number, now: number): Promise<void> {
  const opened = await store.open(key, { reference: null, sends_codes: true }, policy, now);
  if (!opened.ok) throw new Error('open refused');
  const reserved = await store.reserveSend(key, policy, now, 'first');
  if (!reserved.tx || !reserved.outcome.ok) throw new Error('reserveSend refused');
  const code = String(100000 + (i % 900000));
  const committed = await store.commitSend(key, policy, reserved.outcome.reservation_id, {
    id: newId(),
    hash: hashCode(KEYS, opened.tx.id, code),
    destination: { address: mobileOf(i), country: 'SE', line_type: 'MOBILE' },
    sent_at: now,
    expires_at: now + policy.ttl_seconds * 1000,
    channel: 'sms',
  });
  if (!committed.tx || !committed.outcome.ok) throw new Error('commitSend refused');
}

async function fill(n: number): Promise<{ store: MemoryTransactionStore; keys: TxKey[]; ms: number }> {
  const store = new MemoryTransactionStore({ sweepIntervalMs: 0, clock: () => T0 });
  const keys: TxKey[] = new Array(n);
  const start = performance.now();
  for (let i = 0; i < n; i += 1) {
    const key = keyOf(i);
    keys[i] = key;
    await insertPending(store, key, i, T0);
  }
  return { store, keys, ms: performance.now() - start };
}

function settle(): number {
  for (let i = 0; i < 4; i += 1) gc!();
  return process.memoryUsage().heapUsed;
}

async function heapPerTransaction(n: number) {
  const store = new MemoryTransactionStore({ sweepIntervalMs: 0, clock: () => T0 });
  const first = keyOf(0);
  const before = settle();
  // Each key is made inside the window and dropped: what stays is what the store keeps.
  for (let i = 0; i < n; i += 1) await insertPending(store, i === 0 ? first : keyOf(i), i, T0);
  const after = settle();
  const held = store.size();
  const bytes = (after - before) / held;
  // A look at one record, to explain the figure.
  const sample = await store.get(first, T0);
  const json = JSON.stringify(sample);
  await store.close();
  return { transactions: held, heap_before: before, heap_after: after, bytes_per_transaction: bytes, sample_record_json_bytes: json.length };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function entryLatency(store: MemoryTransactionStore, keys: TxKey[], iterations: number, record: boolean) {
  const n = keys.length;
  const uses = new Uint8Array(n);
  const times: number[] = [];
  // A fixed-seed walk over the whole store (a prime stride), each transaction at most ALLOWED_OTP_RETRY times.
  let idx = 7 % n;
  const stride = 1_000_003 % n || 1;
  let invalid = 0;
  for (let it = 0; it < iterations; it += 1) {
    let tries = 0;
    while (uses[idx]! >= ALLOWED_OTP_RETRY) {
      idx = (idx + 1) % n;
      if (++tries > n) throw new Error('every transaction used up: more iterations than size x allowed_otp_retry');
    }
    uses[idx]! += 1;
    const key = keys[idx]!;
    idx = (idx + stride) % n;
    const now = T0 + 1000;
    const t0 = process.hrtime.bigint();
    const reserved = await store.reserveAttempt(key, policy, now);
    if (!reserved.tx || !reserved.outcome.ok) throw new Error(`reserveAttempt refused: ${JSON.stringify(reserved.outcome)}`);
    const recorded = await store.recordOutcome(key, policy, reserved.outcome.reservation_id, {}, now);
    const t1 = process.hrtime.bigint();
    if (recorded.outcome.code === 'INVALID_OTP') invalid += 1;
    if (record) times.push(Number(t1 - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return {
    iterations, evaluated_invalid_otp: invalid,
    median_us: times.length ? percentile(times, 0.5) : 0,
    p99_us: times.length ? percentile(times, 0.99) : 0,
    mean_us: times.length ? times.reduce((a, b) => a + b, 0) / times.length : 0,
  };
}

const heap = await heapPerTransaction(HEAP_N);
settle();

// JIT warm-up on a store of its own, so neither size gets the cold start.
{
  const w = await fill(2000);
  await entryLatency(w.store, w.keys, 20000, false);
  await w.store.close();
}

const latency: Record<string, unknown>[] = [];
for (const size of SIZES) {
  settle();
  const { store, keys, ms } = await fill(size);
  const heapUsed = settle();
  const result = await entryLatency(store, keys, ITERATIONS, true);
  // Diagnostic: the same walk confined to 1,000 transactions of this store (a hot set as small as the small
  // store). Equal to the small store's figure => the growth is memory locality (cache/TLB misses over a large
  // heap), not work that grows with the number held.
  const hot = size > 1000 ? await entryLatency(store, keys.slice(size - 1000), Math.min(ITERATIONS, 1000 * ALLOWED_OTP_RETRY), true) : null;
  latency.push({ size, insert_ms: Math.round(ms), insert_us_per_tx: (ms * 1000) / size, heap_used: heapUsed, ...result, ...(hot ? { hot_1000: hot } : {}) });
  await store.close();
}

console.log(JSON.stringify({ heap, latency }));
