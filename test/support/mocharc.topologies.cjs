// The Cluster and Sentinel passes (issue 25): the root .mocharc.json with only the OTP API over HTTP, the Selector,
// the demo's chain and the verification API, whose harnesses build their apps on a Redis Cluster or a Sentinel group
// when TEST_STORE=cluster or sentinel (test/support/test-store.ts starts it once per mocha process). The last two
// passes of `npm test` (scripts/test-all.ts); `TEST_STORE=cluster npx mocha --config test/support/mocharc.topologies.cjs`.
'use strict';
const base = require('../../.mocharc.json');

module.exports = {
  ...base,
  spec: [
    'test/http/otp.*.test.ts', 'test/http/selector.*.test.ts', 'test/http/demo.chain.test.ts',
    'test/http/verify-api.test.ts', 'test/http/verify-api.phonematch.test.ts',
  ],
};
