import assert from 'node:assert/strict';
import { createSecretBox } from '../../src/codes/secret-box.js';
import { RedisCredentialStore } from '../../src/store/redis-credential-store.js';
import { createCredentials } from '../../src/store/credentials.js';
import { describeRedis } from '../support/redis.js';

describeRedis('redis credential store: enrolled secrets sealed at rest', (ctx) => {
  it('enrol, read back, touch; a dump of every key holds no clear secret; keys share the subject\'s hash tag', async () => {
    const store = new RedisCredentialStore(ctx.client, ctx.prefix);
    const credentials = createCredentials(store, createSecretBox(['k1']));
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
    assert.equal(await createCredentials(store, createSecretBox(['another'])).totp('alice'), null, 'without its key the secret does not open');
    // Rotation: with CREDENTIAL_KEY=k2,k1 a secret in use is sealed again under k2, and then opens without k1.
    const rotated = createCredentials(store, createSecretBox(['k2', 'k1']));
    await rotated.usedTotp('alice', 3000);
    assert.deepEqual(await createCredentials(store, createSecretBox(['k2'])).totp('alice'), { secret, algorithm: 'sha1', digits: 6, period: 30 });
    assert.equal((await store.getTotp('alice'))?.last_used_at, 3000);
    assert.equal(await store.removeTotp('alice'), true);
    assert.equal(await credentials.totp('alice'), null);
    await store.touchTotp('nobody', 1);
    assert.equal(await store.getTotp('nobody'), null, 'a touch creates nothing');
  });
});
