import assert from 'node:assert/strict';
import { maskDestination, maskEmail, maskPhone } from '../../src/transaction/mask.js';

describe('masking destinations', () => {
  it('a Swedish mobile keeps country code, two leading and two trailing digits', () => {
    assert.equal(maskPhone('+46701234567'), '+46 70*** **67');
  });
  it('a UK mobile', () => assert.equal(maskPhone('+447400123456'), '+44 74**** **56'));
  it('a US number', () => assert.equal(maskPhone('+12015550123'), '+1 20**** **23'));
  it('never contains the middle digits', () => {
    const masked = maskPhone('+46701234567');
    assert.ok(!masked.includes('12345'));
    assert.equal(masked.replace(/\D/g, ''), '467067');
  });
  it('an e-mail keeps its first character and domain', () => {
    assert.equal(maskEmail('carol@example.com'), 'c***@example.com');
    assert.equal(maskDestination('carol@example.com'), 'c***@example.com');
  });
  it('a malformed e-mail reveals nothing', () => assert.equal(maskEmail('@x'), '***'));
});
