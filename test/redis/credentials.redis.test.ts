import assert from 'node:assert/strict';
import { createSecretBox } from '../../src/codes/secret-box.js';
import { RedisCredentialStore } from '../../src/store/redis-credential-store.js';
import { createCredentials } from '../../src/store/credentials.js';
import { describeRedis } from '../support/redis.js';

describeRedis('redis credential store: enrolled secrets sealed at rest', (ctx) => {
  it('enrol, read back, touch; a dump of every key holds no clear secret; keys share the subject\'s hash tag', async () => {
    const store = new RedisCredentialStore(ctx.client, ctx.prefix);
    const credentials = createCredentials(store, createSecretBox(['k1']), ['k1']);
    const secret = 'UZU7NDYPSJNRQ7AWBXFKXHWKYGHWMQXC';
    await credentials.enrolTotp('alice', secret, { algorithm: 'sha1', digits: 6, period: 30 }, 1000);
    assert.deepEqual(await credentials.totp('alice'), { secret, algorithm: 'sha1', digits: 6, period: 30 });
    await credentials.usedTotp('alice', 2000);
    assert.equal((await store.getTotp('alice'))?.last_used_at, 2000);
    const keys: string[] = [];
    for await (const batch of ctx.client.scanIterator({ MATCH: `${ctx.prefix}*`, COUNT: 100 })) keys.push(...batch);
    assert.deepEqual(keys, [`${ctx.prefix}cred:{alice}:totp`]);
    for (const key of keys) {
      const value = await ctx.client.get(key);
      assert.ok(value && !value.includes(secret), `${key} holds no clear secret`);
    }
    assert.equal(await createCredentials(store, createSecretBox(['another']), ['another']).totp('alice'), 'unusable', 'without its key the secret does not open (and says so: no fallback)');
    // Rotation: with CREDENTIAL_KEY=k2,k1 a secret in use is sealed again under k2, and then opens without k1.
    const rotated = createCredentials(store, createSecretBox(['k2', 'k1']), ['k2', 'k1']);
    await rotated.usedTotp('alice', 3000);
    assert.deepEqual(await createCredentials(store, createSecretBox(['k2']), ['k2']).totp('alice'), { secret, algorithm: 'sha1', digits: 6, period: 30 });
    assert.equal((await store.getTotp('alice'))?.last_used_at, 3000);
    assert.equal(await store.removeTotp('alice'), true);
    assert.equal(await credentials.totp('alice'), null);
    await store.touchTotp('nobody', 1);
    assert.equal(await store.getTotp('nobody'), null, 'a touch creates nothing');
  });

  it('recovery codes: 100 parallel redemptions of one code over two connections (two processes, in effect) use it exactly once; a new set replaces the old', async () => {
    const a = createCredentials(new RedisCredentialStore(ctx.client, ctx.prefix), createSecretBox(['k1']), ['k1']);
    const b = createCredentials(new RedisCredentialStore(await ctx.newClient(), ctx.prefix), createSecretBox(['k1']), ['k1']);
    const codes = await a.newRecoveryCodes('bob', 1000);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).redeemRecoveryCode('bob', codes[0])));
    assert.equal(results.filter((r) => r.redeemed).length, 1);
    assert.equal(await a.recoveryCodesLeft('bob'), 9);
    const stored = await ctx.client.sMembers(`${ctx.prefix}cred:{bob}:recovery`);
    assert.equal(stored.length, 9);
    for (const c of codes) assert.ok(!stored.some((h) => h.includes(c)), 'keyed hashes only');
    const fresh = await b.newRecoveryCodes('bob', 2000);
    assert.deepEqual(await a.redeemRecoveryCode('bob', codes[1]), { redeemed: false, left: 10 });
    assert.deepEqual(await a.redeemRecoveryCode('bob', fresh[1]), { redeemed: true, left: 9 });
    // Codes made before a rotation of CREDENTIAL_KEY still work.
    const rotated = createCredentials(new RedisCredentialStore(ctx.client, ctx.prefix), createSecretBox(['k2', 'k1']), ['k2', 'k1']);
    assert.deepEqual(await rotated.redeemRecoveryCode('bob', fresh[2]), { redeemed: true, left: 8 });
  });
});
