import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { locationOrigins } from '../../src/web/security-headers.js';
import { tempConfigDir, validConfig } from '../support/temp-config.js';

describe('CSP form-action: the origins of configured locations', () => {
  it('adds the origin of every absolute location, once, and nothing for paths', () => {
    const c = validConfig();
    Object.assign(c.authenticators[0].config, { success_location: 'https://app.example.com/welcome?x=1', failure_location: '/failed', cancel_location: 'https://app.example.com/bye' });
    c.authenticators.push({ id: 'c', type: 'Chain', config: { base_path: '/authn', chain: [{ id: 'otp' }], success_location: 'http://portal.example.org:8080/' } });
    const config = loadConfig(tempConfigDir().write('c.json', c), {});
    assert.deepEqual(locationOrigins(config), ['http://portal.example.org:8080', 'https://app.example.com']);
  });

  it('a configuration with only paths allows only self', () => {
    assert.deepEqual(locationOrigins(loadConfig(tempConfigDir().write('c.json', validConfig()), {})), []);
  });
});
