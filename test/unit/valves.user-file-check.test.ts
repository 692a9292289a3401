import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../../src/valves/index.js';
import { buildPipe } from '../../src/pipes/pipe.js';
import { createFlowContext } from '../../src/pipes/flow-context.js';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../src/valves/password-hash.js';
import type { Pipe } from '../../src/pipes/pipe.js';
import type { ValveDeps } from '../../src/pipes/types.js';

function deps(configDir: string): ValveDeps {
  return { otpKeys: ['k'], configDir, now: () => 0, production: false };
}

async function login(pipe: Pipe, identifier: unknown, password: unknown) {
  const ctx = createFlowContext({ state: { identifier, password } });
  const result = await pipe.run(ctx);
  return { result, exports: ctx.exports };
}

describe('UserFileCheck with the demo users', () => {
  const configDir = path.resolve('config');
  let pipe: Pipe;
  before(() => {
    pipe = buildPipe({ id: 'demo-users', valves: [{ name: 'UserFileCheck', config: { file: 'demo-users.json' } }] }, deps(configDir));
  });

  it('accepts alice / wonderland and exports her public fields only (and her TOTP secret, for TotpValidate)', async () => {
    const { result, exports } = await login(pipe, 'alice', 'wonderland');
    assert.deepEqual(result, { ok: true });
    assert.deepEqual(exports, { username: 'alice', mobile: '+46701234567', email: 'alice@example.com', fn: 'Alice', ln: 'Liddell', totp_secret: 'UZU7NDYPSJNRQ7AWBXFKXHWKYGHWMQXC' });
    assert.equal('password_hash' in exports, false);
  });

  it('accepts bob and carol, with a username typed in another case', async () => {
    assert.deepEqual((await login(pipe, 'Bob ', 'builder')).exports, { username: 'bob', mobile: '+447400123456', email: 'bob@example.com' });
    assert.deepEqual((await login(pipe, 'carol', 'bletchley')).exports, { username: 'carol', email: 'carol@example.com' });
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const wrong = await login(pipe, 'alice', 'Wonderland');
    const unknown = await login(pipe, 'mallory', 'wonderland');
    const expected = { ok: false, failure: { reason: 'INVALID CREDENTIALS', valve: 'UserFileCheck' } };
    assert.deepEqual(wrong.result, expected);
    assert.deepEqual(unknown.result, expected);
    assert.deepEqual(wrong.exports, {});
    assert.deepEqual(unknown.exports, {});
  });

  it('refuses missing, empty and absurd input without throwing', async () => {
    for (const [identifier, password] of [[undefined, 'x'], ['alice', undefined], ['alice', ''], ['alice', 'x'.repeat(5000)], [{}, []]]) {
      const { result } = await login(pipe, identifier, password);
      assert.equal(!result.ok && result.failure.reason, 'INVALID CREDENTIALS');
    }
  });
});

describe('UserFileCheck file handling', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'users-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a users file relative to the config folder', async () => {
    const users = { users: [{ username: 'dave', password_hash: await hashPassword('pw-dave'), email: 'dave@example.com' }] };
    await writeFile(path.join(dir, 'people.json'), JSON.stringify(users));
    const pipe = buildPipe({ id: 'u', valves: [{ name: 'UserFileCheck', config: { file: 'people.json' } }] }, deps(dir));
    assert.deepEqual((await login(pipe, 'dave', 'pw-dave')).exports, { username: 'dave', email: 'dave@example.com' });
  });

  it('stops the build with the file named when it is missing or holds a clear password', async () => {
    assert.throws(
      () => buildPipe({ id: 'u', valves: [{ name: 'UserFileCheck', config: { file: 'none.json' } }] }, deps(dir)),
      /cannot read .*none\.json/,
    );
    await writeFile(path.join(dir, 'clear.json'), JSON.stringify({ users: [{ username: 'eve', password_hash: 'secret' }] }));
    assert.throws(
      () => buildPipe({ id: 'u', valves: [{ name: 'UserFileCheck', config: { file: 'clear.json' } }] }, deps(dir)),
      /password_hash is not a scrypt/,
    );
  });
});

describe('password hashes', () => {
  it('stores scrypt$N$r$p$salt$hash with a fresh salt each time', async () => {
    const a = await hashPassword('same');
    const b = await hashPassword('same');
    assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.notEqual(a, b);
    const parsed = parsePasswordHash(a);
    assert.ok(parsed);
    assert.equal(await verifyPassword('same', parsed), true);
    assert.equal(await verifyPassword('Same', parsed), false);
    assert.equal(parsePasswordHash('scrypt$3$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=='), null, 'N must be a power of two');
  });
});
