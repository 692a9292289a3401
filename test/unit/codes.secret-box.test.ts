import assert from 'node:assert/strict';
import { createSecretBox } from '../../src/codes/secret-box.js';

describe('SecretBox: AES-256-GCM under CREDENTIAL_KEY', () => {
  const box = createSecretBox(['key-one']);

  it('seals to v1.<key id>.<iv>.<ciphertext>.<tag> and opens to the same text; two seals differ', () => {
    const a = box.seal('JBSWY3DPEHPK3PXP', 'totp\0alice');
    const b = box.seal('JBSWY3DPEHPK3PXP', 'totp\0alice');
    assert.match(a, /^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b, 'a fresh IV each time');
    assert.ok(!a.includes('JBSWY3DPEHPK3PXP'));
    assert.equal(box.open(a, 'totp\0alice'), 'JBSWY3DPEHPK3PXP');
  });

  it('a changed byte, another context (subject) or another key opens to null', () => {
    const sealed = box.seal('SECRET', 'totp\0alice');
    const parts = sealed.split('.');
    const flipped = [...parts.slice(0, 3), `${parts[3]![0] === 'A' ? 'B' : 'A'}${parts[3]!.slice(1)}`, parts[4]].join('.');
    assert.equal(box.open(flipped, 'totp\0alice'), null);
    assert.equal(box.open(sealed, 'totp\0mallory'), null, 'bound to its subject');
    assert.equal(createSecretBox(['another-key']).open(sealed, 'totp\0alice'), null);
    for (const junk of ['', 'v1', 'v2.a.b.c.d', 'v1.x.y.z.w', 'v1....']) assert.equal(box.open(junk, 'totp\0alice'), null);
  });

  it('rotation: the first key seals, every listed key opens', () => {
    const old = box.seal('OLD', 'ctx');
    const rotated = createSecretBox(['key-two', 'key-one']);
    assert.equal(rotated.open(old, 'ctx'), 'OLD');
    const sealed = rotated.seal('NEW', 'ctx');
    assert.equal(box.open(sealed, 'ctx'), null, 'sealed under the new key');
    assert.equal(createSecretBox(['key-two']).open(sealed, 'ctx'), 'NEW');
    assert.equal(rotated.isCurrent(sealed), true);
    assert.equal(rotated.isCurrent(old), false);
  });
});
