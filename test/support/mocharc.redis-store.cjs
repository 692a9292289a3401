// The redis-store pass (issue 22): the root .mocharc.json with only the HTTP and attack suites, whose harnesses
// build their apps on Redis when TEST_STORE=redis (test/support/test-store.ts). `npm run test:redis-store`, or
// the second pass of `npm test` (scripts/test-all.ts). A config of its own because mocha adds spec files given on
// the command line to the config's spec instead of replacing them.
'use strict';
const base = require('../../.mocharc.json');

// Left out: verify-api.webhook-expiry waits 30 s for a code to end; what it proves (a timer in the process that sent
// the code, then one store.get) needs nothing of Redis beyond get, which the store contract runs on Redis.
module.exports = {
  ...base,
  spec: ['test/http/**/*.test.ts', 'test/attacks/**/*.test.ts'],
  ignore: ['test/http/verify-api.webhook-expiry.test.ts'],
};
