import assert from 'node:assert/strict';
import { registerValve, getValve } from '../../src/pipes/valve-registry.js';

describe('valve registry', () => {
  it('refuses a name that is not an identifier', () => {
    assert.throws(() => registerValve('bad name', () => ({ run() {} })), /invalid valve name/);
  });
  it('finds a registered valve', () => {
    registerValve('SmokeValve', () => ({ run() {} }));
    assert.ok(getValve('SmokeValve'));
  });
});
