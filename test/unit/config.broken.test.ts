import assert from 'node:assert/strict';
import { ConfigError, loadConfig, type ConfigProblem } from '../../src/config/index.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

/** Loads a config and returns its problems; fails the test when the config loads. */
function problemsOf(content: unknown, env: NodeJS.ProcessEnv = {}, extra: Record<string, unknown> = {}): ConfigProblem[] {
  const t = tempConfigDir();
  for (const [name, value] of Object.entries(extra)) t.write(name, value);
  const file = t.write('config.json', content);
  try {
    loadConfig(file, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return [...error.problems];
  }
  assert.fail('the configuration loaded, but it should have been refused');
}

function expectProblem(problems: ConfigProblem[], path: string, message: RegExp, file = 'config.json'): void {
  const hit = problems.find((p) => p.path === path && message.test(p.message));
  assert.ok(hit, `no problem at ${path} matching ${message}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`);
  assert.ok(hit.file.endsWith(file), `problem names file ${hit.file}, expected ${file}`);
}

function mutate(change: (c: Record<string, any>) => void): Record<string, any> {
  const c = validConfig();
  change(c);
  return c;
}

describe('config: a broken configuration is refused with its file, path and what was expected', () => {
  it('the valid base configuration loads (so every case below fails for its own reason)', () => {
    const t = tempConfigDir();
    const config = loadConfig(t.write('config.json', validConfig()), {});
    assert.equal(config.authenticators[0]?.canonicalType, 'OTP');
  });

  it('malformed JSON names the line and column', () => {
    const problems = problemsOf('{\n  "authenticators": [,]\n}');
    expectProblem(problems, '', /not valid JSON.*line 2, column/);
  });

  it('a top-level array', () => expectProblem(problemsOf([]), '', /expected a JSON object/));

  it('an unknown top-level key lists the keys it expected', () => {
    expectProblem(problemsOf(mutate((c) => { c.sever = {}; })), 'sever', /unknown key "sever" \(expected one of: .*server/);
  });

  it('an unknown key inside an OTP block', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.allowed_otp_retries = 3; })),
      'authenticators[0].config.allowed_otp_retries', /unknown key/);
  });

  it('a wrong type says what was expected and what was found', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.allowed_otp_retry = 'three'; })),
      'authenticators[0].config.allowed_otp_retry', /expected integer, found string "three"/);
  });

  it('allowed_otp_retry above 20', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.allowed_otp_retry = 21; })),
      'authenticators[0].config.allowed_otp_retry', /<= 20, found number 21/);
  });

  it('code.ttl_seconds above 600', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.code = { ttl_seconds: 3600 }; })),
      'authenticators[0].config.code.ttl_seconds', /<= 600/);
  });

  it('max_codes of 0', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.max_codes = 0; })),
      'authenticators[0].config.max_codes', />= 1/);
  });

  it('an unknown charset lists the allowed ones', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.code = { charset: 'hex' }; })),
      'authenticators[0].config.code.charset', /expected one of "numeric", "alphanumeric", found string "hex"/);
  });

  it('a numeric code of 5 digits is under 20 bits', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.code = { length: 5 }; })),
      'authenticators[0].config.code.length', /about 16 bits; at least 20/);
  });

  it('an alphanumeric code of 4 symbols is enough (20 bits)', () => {
    const t = tempConfigDir();
    const config = loadConfig(t.write('c.json', mutate((c) => { c.authenticators[0].config.code = { length: 4, charset: 'alphanumeric' }; })), {});
    assert.equal((config.authenticators[0]?.config as { code: { length: number } }).code.length, 4);
  });

  it('a missing pipe_id', () => {
    expectProblem(problemsOf(mutate((c) => { delete c.authenticators[0].config.pipe_id; })),
      'authenticators[0].config', /missing required key "pipe_id"/);
  });

  it('a pipe id that no pipe has lists the pipes there are', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.pipe_id = 'validat'; })),
      'authenticators[0].config.pipe_id', /no pipe has id "validat" \(pipes: send, validate\)/);
  });

  it('a pre_pipe_id that no pipe has', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.pre_pipe_id = 'nope'; })),
      'authenticators[0].config.pre_pipe_id', /no pipe has id "nope"/);
  });

  it('a valve name that no valve has', () => {
    expectProblem(problemsOf(mutate((c) => { c.pipes[1].valves[0].name = 'OtpValidator'; })),
      'pipes[1].valves[0].name', /unknown valve "OtpValidator"/);
  });

  it('an unknown authenticator type', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].type = 'Otp'; })),
      'authenticators[0].type', /unknown authenticator type "Otp"/);
  });

  it('the aliases OTPAuthenticator and OTPValidator are the OTP type', () => {
    for (const alias of ['OTPAuthenticator', 'OTPValidator']) {
      const t = tempConfigDir();
      const config = loadConfig(t.write('c.json', mutate((c) => { c.authenticators[0].type = alias; })), {});
      assert.equal(config.authenticators[0]?.canonicalType, 'OTP');
      assert.equal(config.authenticators[0]?.type, alias);
    }
  });

  it('base_path together with context_path', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.context_path = '/otp'; })),
      'authenticators[0].config', /base_path and context_path are both set/);
  });

  it('neither base_path nor context_path', () => {
    expectProblem(problemsOf(mutate((c) => { delete c.authenticators[0].config.base_path; })),
      'authenticators[0].config', /neither base_path nor context_path/);
  });

  it('an unset ${env.X} names the variable', () => {
    expectProblem(problemsOf(mutate((c) => { c.store = { type: 'redis', url: '${env.REDIS_URL_FOR_TEST}' }; })),
      'store.url', /environment variable REDIS_URL_FOR_TEST is not set/);
  });

  it('an undefined ${globals.x}', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.reference = '${globals.nope}'; })),
      'authenticators[0].config.reference', /\$\{globals.nope\} is not defined/);
  });

  it('two authenticators with the same id', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators.push({ ...c.authenticators[0], config: { ...c.authenticators[0].config, base_path: '/other' } }); })),
      'authenticators[1]', /authenticator id "otp" is already used by authenticators\[0\]/);
  });

  it('two authenticators on one mount path', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators.push({ id: 'otp2', type: 'OTP', config: { context_path: '/authn/otp', pipe_id: 'validate' } }); })),
      'authenticators[1].config', /mount path \/authn\/otp is already served by authenticators\[0\]/);
  });

  it('two pipes with the same id', () => {
    expectProblem(problemsOf(mutate((c) => { c.pipes.push({ id: 'send', valves: [] }); })), 'pipes[2]', /pipe id "send" is already used/);
  });

  it('a chain step that names no authenticator, and a chain that contains itself', () => {
    const problems = problemsOf(mutate((c) => {
      c.authenticators.push({ id: 'login', type: 'Chain', config: { base_path: '/authn', chain: [{ id: 'passwrd' }, { id: 'login' }] } });
    }));
    expectProblem(problems, 'authenticators[1].config.chain[0].id', /no authenticator has id "passwrd"/);
    expectProblem(problems, 'authenticators[1].config.chain[1].id', /cannot contain itself/);
  });

  it('a pre_pipe_id without destination.source', () => {
    expectProblem(problemsOf(mutate((c) => { delete c.authenticators[0].config.destination; })),
      'authenticators[0].config.destination.source', /pre_pipe_id is set but destination.source is not/);
  });

  it('a redis store without a url, a cluster or a sentinel; or with two of them; a memory store given an address', () => {
    expectProblem(problemsOf(mutate((c) => { c.store = { type: 'redis' }; })), 'store', /give exactly one of "url", "cluster", "sentinel" \(none is given\)/);
    expectProblem(problemsOf(mutate((c) => { c.store = { type: 'redis', url: 'redis://127.0.0.1:6379', sentinel: { name: 'm', nodes: ['redis://127.0.0.1:26379'] } }; })),
      'store', /give exactly one of "url", "cluster", "sentinel" \(found "url" and "sentinel"\)/);
    expectProblem(problemsOf(mutate((c) => { c.store = { type: 'redis', cluster: { root_nodes: [] } }; })), 'store.cluster.root_nodes', /fewer than 1|must NOT have fewer/);
    expectProblem(problemsOf(mutate((c) => { c.store = { type: 'redis', cluster: { root_nodes: ['http://127.0.0.1:7000'] } }; })), 'store.cluster.root_nodes[0]', /expected a string matching/);
    const ok = loadConfig(tempConfigDir().write('config.json', mutate((c) => { c.store = { type: 'memory', cluster: { root_nodes: ['redis://127.0.0.1:7000'] } }; })), {});
    assert.deepEqual(ok.warnings?.map((w) => [w.path, w.message]), [['store.cluster', 'ignored: store.type is "memory" (set "type": "redis" to use it)']]);
  });

  it('a location that is not a path or an http(s) URL', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.success_location = 'javascript:alert(1)'; })),
      'authenticators[0].config.success_location', /expected a string matching/);
  });

  it('a protocol-relative location (//evil.example) is refused', () => {
    expectProblem(problemsOf(mutate((c) => { c.authenticators[0].config.failure_location = '//evil.example/x'; })),
      'authenticators[0].config.failure_location', /expected a string matching/);
  });

  it('a language with no translations, and a fallback outside the languages', () => {
    const problems = problemsOf(mutate((c) => { c.i18n = { languages: ['en', 'de'], fallback: 'fi' }; }));
    expectProblem(problems, 'i18n.languages[1]', /no translations for "de"/);
    expectProblem(problems, 'i18n.fallback', /"fi" is not one of i18n.languages/);
  });

  it('an exec_if that reaches constructor', () => {
    expectProblem(problemsOf(mutate((c) => { c.pipes[0].valves[2].exec_if = 'request.constructor'; })), 'pipes[0].valves[2].exec_if', /constructor/);
  });

  it('a valve config its valve does not accept', () => {
    expectProblem(problemsOf(mutate((c) => { c.pipes[0].valves[0].config = { default_countri: 'SE' }; })),
      'pipes[0].valves[0].config.default_countri', /unknown key "default_countri"/);
  });

  it('reports every problem at once, not only the first', () => {
    const problems = problemsOf(mutate((c) => {
      c.authenticators[0].config.pipe_id = 'x';
      c.pipes[1].valves[0].name = 'Nope';
      c.i18n = { fallback: 'fi' };
    }));
    assert.ok(problems.length >= 3, `expected 3 problems, got ${problems.length}`);
  });

  it('a problem inside an included file names that file', () => {
    const problems = problemsOf(
      mutate((c) => { c.pipes = '@include:pipes'; }),
      {},
      { 'pipes/a.json': { id: 'send', valves: [{ name: 'OtpGenerate' }] }, 'pipes/b.json': { id: 'validate', valves: [{ name: 'Bogus' }] } },
    );
    expectProblem(problems, 'pipes[1].valves[0].name', /unknown valve "Bogus"/, 'b.json');
  });

  it('a missing configuration file', () => {
    assert.throws(() => loadConfig('/nonexistent/otp.json', {}), (e: unknown) => e instanceof ConfigError && /does not exist/.test(e.message));
  });
});

describe('config: chains that nest in a loop', () => {
  it('A contains B contains A is refused, naming the loop', () => {
    const problems = problemsOf(mutate((c) => {
      c.authenticators.push(
        { id: 'a', type: 'Chain', config: { base_path: '/x', chain: [{ id: 'b' }] } },
        { id: 'b', type: 'Chain', config: { base_path: '/x', chain: [{ id: 'a' }] } },
      );
    }));
    expectProblem(problems, 'authenticators[1].config.chain', /chains contain each other in a loop: a -> b -> a/);
  });
});
