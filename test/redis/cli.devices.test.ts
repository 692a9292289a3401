import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSecretBox } from '../../src/codes/secret-box.js';
import { RedisCredentialStore } from '../../src/store/redis-credential-store.js';
import { createCredentials } from '../../src/store/credentials.js';
import { describeRedis } from '../support/redis.js';

function cli(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli-main.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describeRedis('CLI: otp-authenticator devices SUBJECT [--revoke ID|all] (Redis)', (ctx) => {
  it('lists a subject\'s trusted browsers, revokes one, then all; the token matches nothing after', async () => {
    const credentials = createCredentials(new RedisCredentialStore(ctx.client, ctx.prefix), createSecretBox(['k']), ['k']);
    const now = Date.now();
    const first = await credentials.trustDevice('alice', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131', 30, now);
    await credentials.trustDevice('alice', 'Mozilla/5.0 (iPhone) Safari/18', 30, now);
    assert.ok(await credentials.trustedDevice('alice', first, now));
    const env = { REDIS_URL: ctx.url, REDIS_PREFIX: ctx.prefix };
    const listed = cli(env, 'devices', 'alice');
    assert.equal(listed.status, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => /^[0-9a-f]{8}  created \S+  last used \S+  expires \S+  Mozilla/.test(l)), listed.stdout);
    assert.ok(!listed.stdout.includes(first), 'no token printed');
    const id = (await credentials.devices('alice')).find((d) => d.user_agent.includes('Chrome'))!.id;
    assert.equal(cli(env, 'devices', 'alice', '--revoke', id).stdout, 'revoked 1 trusted browser of alice\n');
    assert.equal(await credentials.trustedDevice('alice', first, now), null);
    assert.equal(cli(env, 'devices', 'alice', '--revoke', 'all').stdout, 'revoked 1 trusted browser of alice\n');
    assert.equal(cli(env, 'devices', 'alice').stdout, 'alice has no trusted browsers\n');
    const bad = cli(env, 'devices');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Usage: otp-authenticator devices SUBJECT/);
  });
});
