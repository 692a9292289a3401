import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { freePort, eventually } from '../support/redis-processes.js';
import { tempConfigDir } from '../support/temp-config.js';

/**
 * SIGTERM while a request is in flight: the server stops accepting, the request still gets its answer, and the
 * process exits 0. The request is held in flight by sending its body slowly (half now, the rest after the signal).
 */
describe('SIGTERM during a request', function () {
  this.timeout(30_000);

  it('finishes the request in flight, refuses new connections, exits 0', async () => {
    const port = await freePort();
    const dir = tempConfigDir().dir;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, NODE_ENV: 'development', PORT: String(port), REDIS_URL: '', OTP_CONFIG: '', OUTBOX_FILE: path.join(dir, 'o.jsonl'), EVENTS_FILE: path.join(dir, 'e.jsonl') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200, 20_000, 'server up', 100);
      // A form body is read before anything is answered (the CSRF field is in it), so the request stays in flight.
      const body = 'identifier=alice&password=wonderland&_csrf=not-the-token';
      const socket = connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      let answer = '';
      socket.setEncoding('utf8').on('data', (d: string) => { answer += d; });
      const ended = new Promise((r) => socket.once('end', r));
      socket.write(`POST /authn/password HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(answer, '', 'no answer before the body is complete');
      child.kill('SIGTERM');
      await eventually(() => /SIGTERM: no new connections/.test(stderr) || stderr.includes('SIGTERM'), 5_000, 'signal handled').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => false, () => true);
      assert.equal(refused, true, 'a new connection is refused while the old request finishes');
      socket.write(body.slice(10));
      await ended;
      assert.match(answer, /^HTTP\/1\.1 403 /, 'the request in flight got its answer (CSRF: it carried no token)');
      assert.match(answer, /"code":"CSRF"/);
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
