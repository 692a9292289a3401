import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withCurrentReference } from '../../src/config/reference-doc.js';

describe('docs/configuration.md', () => {
  it('its reference tables are the ones generated from config/config.schema.json (run `npm run docs`)', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    assert.equal(doc, withCurrentReference(doc));
  });

  it('documents every OTP key of SPEC section 2', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    for (const key of ['pipe_id', 'pre_pipe_id', 'allowed_otp_retry', 'subject', 'custom_identifier', 'code.length', 'code.charset',
      'code.ttl_seconds', 'max_codes', 'resend_cooldown_seconds', 'resend_strategy', 'lockout_seconds', 'destination.source',
      'destination.allow_change', 'destination.max_changes', 'rate_limits.sends_per_destination_per_minute', 'rate_limits.sends_per_ip_per_hour',
      'rate_limits.sends_per_country_per_hour', 'rate_limits.sends_global_per_hour', 'rate_limits.entries_per_transaction_per_minute',
      'rate_limits.failures_per_subject_per_hour', 'success_location', 'failure_location', 'cancel_location']) {
      assert.ok(doc.includes(`| \`${key}\` |`), `${key} is not in the reference`);
    }
  });
});
