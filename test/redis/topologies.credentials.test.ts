import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connectRedisStore } from '../../src/store/redis-store.js';
import { connectionOf } from '../../src/redis/connection.js';
import { makeOtpPolicy } from '../../src/transaction/index.js';
import { eventually, freePort, stopProcess } from '../support/redis-processes.js';
import { requireTopologyOrSkip } from '../support/redis-topology.js';
import { createClient } from 'redis';

/**
 * Issue 25: the `store` block's credentials reach the server: a Redis with a password (requirepass) is reached with
 * `password` from the config and refused without it, at start (connectRedisStore fails loudly, naming no secret).
 */
describe('issue 25: the store block\'s credentials', function () {
  this.timeout(30_000);
  let server: ChildProcess | null = null;
  let url = '';
  const SECRET = 'topology-test-password';

  before(async function () {
    requireTopologyOrSkip(this, 'a Redis server with a password');
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', SECRET], { stdio: 'ignore' });
    await eventually(async () => {
      const c = createClient({ url, password: SECRET, socket: { reconnectStrategy: false } });
      c.on('error', () => undefined);
      try { await c.connect(); await c.close(); return true; } catch { return false; }
    }, 10_000, 'redis-server with a password');
  });
  after(async () => { await stopProcess(server, 'SIGKILL'); });

  it('with the config\'s password the store works; without it start-up fails naming no secret', async () => {
    const connection = connectionOf({ type: 'redis', url, password: SECRET, prefix: 'cred-test:' })!;
    const store = await connectRedisStore(connection, 'cred-test:');
    try {
      const opened = await store.open({ sessionId: 's', authenticatorId: 'otp', subject: 'alice' }, {}, makeOtpPolicy({}), Date.now());
      assert.equal(opened.ok, true);
    } finally {
      await store.close();
    }
    await assert.rejects(connectRedisStore(connectionOf({ type: 'redis', url, prefix: 'cred-test:' })!, 'cred-test:'), (error: Error) => {
      assert.equal(error.name, 'StoreUnavailableError');
      assert.doesNotMatch(error.message, new RegExp(SECRET));
      return true;
    });
  });
});
