import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { loadConfigDocument } from '../../src/config/load.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

describe('config: @include and ${} expansion', () => {
  it('includes a file relative to the including file, and nested includes relative to theirs', () => {
    const t = tempConfigDir();
    t.write('parts/pipes.json', ['@include:send.json', '@include:more/validate.json']);
    t.write('parts/send.json', { id: 'send', valves: [] });
    t.write('parts/more/validate.json', { id: 'validate', valves: [] });
    const doc = loadConfigDocument(t.write('config.json', { pipes: '@include:parts/pipes.json' }), {});
    assert.deepEqual((doc.data as { pipes: unknown }).pipes, [{ id: 'send', valves: [] }, { id: 'validate', valves: [] }]);
  });

  it('a folder include is the array of its *.json files in name order, other files ignored', () => {
    const t = tempConfigDir();
    t.write('p/b.json', { id: 'b' });
    t.write('p/a.json', { id: 'a' });
    t.write('p/10.json', { id: '10' });
    t.write('p/notes.txt', 'not json');
    const doc = loadConfigDocument(t.write('config.json', { pipes: '@include:p' }), {});
    assert.deepEqual((doc.data as { pipes: unknown }).pipes, [{ id: '10' }, { id: 'a' }, { id: 'b' }]);
  });

  it('refuses an include cycle and names the files in it', () => {
    const t = tempConfigDir();
    t.write('a.json', { next: '@include:b.json' });
    t.write('b.json', { next: '@include:a.json' });
    assert.throws(() => loadConfigDocument(t.write('config.json', { x: '@include:a.json' }), {}),
      (e: unknown) => e instanceof ConfigError && /@include cycle: a.json -> b.json -> a.json/.test(e.message.replace(/\S*\//g, '')));
  });

  it('refuses a file that includes itself', () => {
    const t = tempConfigDir();
    const file = t.write('config.json', { x: '@include:config.json' });
    assert.throws(() => loadConfigDocument(file, {}), /@include cycle/);
  });

  it('a missing include target names the including file and path', () => {
    const t = tempConfigDir();
    assert.throws(() => loadConfigDocument(t.write('config.json', { pipes: '@include:nope.json' }), {}),
      (e: unknown) => e instanceof ConfigError && e.problems[0]?.path === 'pipes' && /nope.json does not exist/.test(e.problems[0].message));
  });

  it('invalid JSON in an included file names that file', () => {
    const t = tempConfigDir();
    t.write('bad.json', '{ "id": ');
    assert.throws(() => loadConfigDocument(t.write('config.json', { pipes: ['@include:bad.json'] }), {}),
      (e: unknown) => e instanceof ConfigError && /bad.json$/.test(e.problems[0]?.file ?? '') && /not valid JSON/.test(e.message));
  });

  it('expands ${env.X}, ${env.X:-fallback} (for unset and for empty) and inside longer strings', () => {
    const t = tempConfigDir();
    const doc = loadConfigDocument(t.write('c.json', { a: '${env.A}', b: '${env.B:-dflt}', c: '${env.C:-}', d: 'x-${env.A}-y', e: '${env.E:-e}' }),
      { A: 'alpha', E: '' });
    assert.deepEqual(doc.data, { a: 'alpha', b: 'dflt', c: '', d: 'x-alpha-y', e: 'e' });
  });

  it('expands ${globals.x}, keeping the type of a whole-string reference, and globals may use ${env.X}', () => {
    const t = tempConfigDir();
    const doc = loadConfigDocument(t.write('c.json', {
      globals: { n: 5, name: 'Demo', who: '${env.WHO}', nested: { k: 'v' } },
      a: '${globals.n}', b: 'x${globals.n}', c: '${globals.name} SSO', d: '${globals.who}', e: '${globals.nested.k}',
    }), { WHO: 'ops' });
    assert.deepEqual(doc.data, { globals: { n: 5, name: 'Demo', who: 'ops', nested: { k: 'v' } }, a: 5, b: 'x5', c: 'Demo SSO', d: 'ops', e: 'v' });
  });

  it('leaves run-time expressions (${exports.x}, ${session.x}, ${request.x}, ${state.x}) as written', () => {
    const t = tempConfigDir();
    const raw = { a: '${exports.username}', b: '${session.x} ${request.ip} ${state.code}' };
    assert.deepEqual(loadConfigDocument(t.write('c.json', raw), {}).data, raw);
  });

  it('globals cannot reach the prototype chain', () => {
    const t = tempConfigDir();
    assert.throws(() => loadConfigDocument(t.write('c.json', { globals: {}, a: '${globals.constructor}' }), {}), /globals.constructor\} is not defined/);
  });

  it('reports every unset variable, not only the first', () => {
    const t = tempConfigDir();
    assert.throws(() => loadConfigDocument(t.write('c.json', { a: '${env.ONE}', b: ['${env.TWO}'] }), {}),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 2 && e.problems[1]?.path === 'b[0]');
  });
});

describe('config: defaults and freezing', () => {
  it('fills every default from the schema', () => {
    const t = tempConfigDir();
    const config = loadConfig(t.write('c.json', validConfig()), {});
    assert.equal(config.server.port, 3000);
    assert.equal(config.server.session.cookie_name, 'sid');
    assert.equal(config.store.type, 'memory');
    assert.equal(config.logging.events.format, 'json');
    assert.deepEqual(config.i18n, { languages: ['en', 'sv'], fallback: 'en' });
    const otp = config.authenticators[0]?.config as Record<string, any>;
    assert.equal(otp.allowed_otp_retry, 2);
    assert.equal(otp.subject, '${exports.username}');
    assert.deepEqual(otp.code, { length: 6, charset: 'numeric', ttl_seconds: 600 });
    assert.equal(otp.max_codes, 3);
    assert.equal(otp.resend_cooldown_seconds, 30);
    assert.equal(otp.resend_strategy, 'keep_previous');
    assert.equal(otp.lockout_seconds, 600);
    assert.equal(otp.destination.allow_change, false);
    assert.equal(otp.destination.max_changes, 2);
    assert.deepEqual(otp.rate_limits, { sends_per_destination_per_minute: 5, sends_per_ip_per_hour: 20, entries_per_transaction_per_minute: 10, failures_per_subject_per_hour: 20 });
  });

  it('the validated configuration is frozen all the way down', () => {
    const t = tempConfigDir();
    const config = loadConfig(t.write('c.json', validConfig()), {});
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.authenticators[0]?.config));
    assert.throws(() => { (config.server as { port: number }).port = 1; }, TypeError);
  });

  it('the demo configuration config/default.json loads', () => {
    const config = loadConfig('config/default.json', {});
    assert.deepEqual(config.authenticators.map((a) => a.id), ['login', 'password', 'method', 'otp', 'email', 'totp', 'recovery', 'phone', 'enroll', 'recovery-codes', 'api-otp']);
    assert.ok(config.pipes.length >= 3);
  });
});
