// The redis-store pass (issue 22): the root .mocharc.json with only the HTTP and attack suites, whose harnesses
// build their apps on Redis when TEST_STORE=redis (test/support/test-store.ts). `npm run test:redis-store`, or
// the second pass of `npm test` (scripts/test-all.ts). A config of its own because mocha adds spec files given on
// the command line to the config's spec instead of replacing them.
'use strict';
const base = require('../../.mocharc.json');

module.exports = { ...base, spec: ['test/http/**/*.test.ts', 'test/attacks/**/*.test.ts'] };
