/**
 * A helper, not run by `npm run bench` (bench/README.md, F1b): how much of what a request allocates outlives a
 * young-generation collection, in a plain node:http server and in the layers an Express app adds, one at a time:
 *   npx tsx bench/gc-express.ts
 * Each server runs in its own process with V8's --trace-gc-nvp; autocannon (20 connections, a 2 s warm-up, 4 s
 * measured) posts a small JSON body; the figures are the measured window's scavenges summed per request.
 *   plain       node:http answering a fixed JSON
 *   prototype   the same, after Object.setPrototypeOf(req/res, ...) as Express does for every request
 *   express     an Express 5 app with one route
 *   session     the same app behind express-session (MemoryStore)
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import session from 'express-session';

const MODES = ['plain', 'prototype', 'express', 'session'] as const;
type Mode = (typeof MODES)[number];

function serve(mode: Mode): void {
  const answer = (res: http.ServerResponse) => {
    res.setHeader('Content-Type', 'application/json');
    res.end('{"status":"OK"}');
  };
  let server: http.Server;
  if (mode === 'plain' || mode === 'prototype') {
    const reqProto = Object.create(http.IncomingMessage.prototype) as object;
    const resProto = Object.create(http.ServerResponse.prototype) as object;
    server = http.createServer((req, res) => {
      if (mode === 'prototype') {
        Object.setPrototypeOf(req, reqProto);
        Object.setPrototypeOf(res, resProto);
      }
      req.resume();
      answer(res);
    });
  } else {
    const app = express();
    if (mode === 'session') app.use(session({ secret: 'gc-express', resave: false, saveUninitialized: true }));
    app.post('/', (req, res) => {
      if (mode === 'session') (req.session as unknown as { seen?: number }).seen = 1;
      res.json({ status: 'OK' });
    });
    server = http.createServer(app);
  }
  server.listen(0, '127.0.0.1', () => console.log(`PORT ${(server.address() as { port: number }).port}`));
}

async function measure(mode: Mode): Promise<string> {
  const child = spawn(process.execPath, ['--trace-gc-nvp', '--import', 'tsx', fileURLToPath(import.meta.url), 'serve', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<string>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  try {
    const url = `http://127.0.0.1:${port}/`;
    const first = await fetch(url, { method: 'POST' });
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const run = (duration: number) => autocannon({ url, method: 'POST', connections: 20, duration, headers: { cookie, 'content-type': 'application/json' }, body: '{"type":"init"}' });
    await run(2);
    out = '';
    const result = await run(4);
    let allocated = 0;
    let promoted = 0;
    let pauseMs = 0;
    let scavenges = 0;
    for (const line of out.split('\n')) {
      if (!line.includes('gc=s ')) continue;
      scavenges += 1;
      allocated += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0);
      promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
      pauseMs += Number(/ pause=([\d.]+)/.exec(line)?.[1] ?? 0);
    }
    const n = result.requests.total;
    return `| ${mode} | ${(n / 4).toFixed(0)} | ${scavenges} | ${(allocated / n).toFixed(0)} | ${(promoted / n).toFixed(0)} | ${((100 * promoted) / Math.max(1, allocated)).toFixed(0)} % | ${((pauseMs * 1000) / n).toFixed(1)} |`;
  } finally {
    child.kill();
  }
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3] as Mode);
} else {
  console.log('| server | req/s | scavenges | bytes allocated / request | bytes promoted / request | promoted | scavenge pause µs / request |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const mode of MODES) console.log(await measure(mode));
}
