// Benchmark peer: better-auth's phone-number plugin answering a WRONG code.
// Run: PEER_PORT=4100 node bench/peers/better-auth-server.mjs  (prints "READY <port>")
import { createServer } from 'node:http';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { toNodeHandler } from 'better-auth/node';
import { phoneNumber } from 'better-auth/plugins/phone-number';

const port = Number(process.env.PEER_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('PEER_PORT must be set to a TCP port');
  process.exit(2);
}
// Large so wrong codes are always evaluated and never locked out; overridable
// (e.g. 3) to see the lockout work.
const allowedAttempts = Number(process.env.PEER_ALLOWED_ATTEMPTS ?? 1_000_000);
// The wrong code the benchmark sends; /peer/prepare makes sure no pending code equals it.
const WRONG_CODE = '000000';

// In-memory secondaryStorage with TTL. better-auth keeps verification values
// (the pending OTPs) here rather than in the database when it is configured.
// 1.7.x requires get/set/delete plus atomic getAndDelete and increment.
const store = new Map(); // key -> { value, expiresAt (ms, or Infinity) }
const live = (key) => {
  const e = store.get(key);
  if (e && e.expiresAt <= Date.now()) { store.delete(key); return undefined; }
  return e;
};
const secondaryStorage = {
  get: (key) => live(key)?.value ?? null,
  set: (key, value, ttl) => { store.set(key, { value, expiresAt: ttl ? Date.now() + ttl * 1000 : Infinity }); },
  delete: (key) => { store.delete(key); },
  getAndDelete: (key) => { const e = live(key); store.delete(key); return e?.value ?? null; },
  increment: (key, ttl) => {
    const e = live(key);
    if (e) { e.value = String(Number(e.value) + 1); return Number(e.value); }
    secondaryStorage.set(key, '1', ttl);
    return 1;
  },
};

const sentCodes = new Map(); // phoneNumber -> last code "sent" (never logged)
// verify: "<status> <error code>" of /phone-number/verify answers -> count
const stats = { prepared: 0, verify: {} };
const countStats = process.env.PEER_STATS !== '0'; // PEER_STATS=0: no per-request bookkeeping

const auth = betterAuth({
  baseURL: `http://127.0.0.1:${port}`,
  secret: 'bench-peer-secret-not-for-production-0123456789',
  database: memoryAdapter({ user: [], session: [], account: [], verification: [] }),
  secondaryStorage,
  rateLimit: { enabled: false }, // every request must reach the OTP check
  telemetry: { enabled: false },
  plugins: [
    phoneNumber({
      sendOTP: ({ phoneNumber, code }) => { sentCodes.set(phoneNumber, code); },
      allowedAttempts,
      expiresIn: 24 * 3600, // default is 300 s, shorter than a long bench run
      // Only matters for a RIGHT code: lets it create the user instead of 500
      // FAILED_TO_UPDATE_USER (no user has these numbers).
      signUpOnVerification: { getTempEmail: (phone) => `${phone.slice(1)}@peer.invalid` },
    }),
  ],
});
const authHandler = toNodeHandler(auth);

const phoneFor = (i) => `+4670100${String(i).padStart(4, '0')}`;

async function prepare(from, n) {
  for (let i = from; i < from + n; i++) {
    const phone = phoneFor(i);
    // Re-send if the random code happens to be the benchmark's wrong code.
    do {
      await auth.api.sendPhoneNumberOTP({ body: { phoneNumber: phone } });
    } while (sentCodes.get(phone) === WRONG_CODE);
    stats.prepared++;
  }
  return { prepared: n, first: phoneFor(from), last: phoneFor(from + n - 1), wrongCode: WRONG_CODE };
}

// 400 alone does not tell INVALID_OTP (code evaluated) from OTP_NOT_FOUND, so
// peek at the small JSON body better-auth writes for the error code.
function countAnswer(res) {
  let code = '';
  const write = res.write;
  res.write = function (chunk, ...rest) {
    code ||= /"code":"(\w+)"/.exec(Buffer.from(chunk).toString())?.[1] ?? '';
    return write.call(this, chunk, ...rest);
  };
  res.on('finish', () => {
    const key = `${res.statusCode} ${code}`.trim();
    stats.verify[key] = (stats.verify[key] ?? 0) + 1;
  });
}

const readJson = async (req) => {
  let s = '';
  for await (const chunk of req) s += chunk;
  return s ? JSON.parse(s) : {};
};
const sendJson = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/peer/prepare' && req.method === 'POST') {
      const { from = 0, n = 1 } = await readJson(req);
      return sendJson(res, 200, await prepare(Number(from), Number(n)));
    }
    // cpuMicros: the process's user + system CPU so far; the benchmark reads it around a slice (CPU per answer).
    if (url.pathname === '/peer/stats' && req.method === 'GET') {
      const cpu = process.cpuUsage();
      return sendJson(res, 200, { ...stats, cpuMicros: cpu.user + cpu.system });
    }
    // Debug only (PEER_DEBUG=1): the pending code and better-auth's stored
    // "code:attempts" value, to check the counter and that a right code passes.
    if (url.pathname === '/peer/code' && process.env.PEER_DEBUG === '1') {
      const phone = url.searchParams.get('phoneNumber');
      const stored = secondaryStorage.get(`verification:phone-number-otp-${phone}`);
      return sendJson(res, 200, { code: sentCodes.get(phone) ?? null, stored: stored && JSON.parse(stored).value });
    }
    if (countStats && url.pathname === '/api/auth/phone-number/verify') countAnswer(res);
    return authHandler(req, res);
  } catch (err) {
    if (!res.headersSent) sendJson(res, 500, { error: String(err?.message ?? err) });
  }
});

server.listen(port, '127.0.0.1', () => console.log(`READY ${port}`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // don't wait for the bench client's keep-alive sockets
});
