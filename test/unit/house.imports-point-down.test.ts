import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ROOMS, houseViolations, readImports } from '../support/house-plan.js';

describe('the house: every import of src/ points down (test/support/house-plan.ts)', () => {
  it('no file imports a room above its own, nor another room past its face; no files import each other; packages stay in their rooms', () => {
    const imports = readImports('src');
    assert.ok(imports.size > 50 && imports.has('transaction/index.ts') && imports.has('otp/otp-router.ts'), 'the imports of src/ were read');
    const broken = houseViolations(imports);
    assert.deepEqual(broken.map((v) => v.message), []);
  });

  it('the rules import nothing of the project but src/errors.ts', () => {
    for (const [file, specifiers] of readImports('src')) {
      if (!file.startsWith('transaction/')) continue;
      for (const spec of specifiers.filter((s) => s.startsWith('../'))) {
        assert.equal(spec, '../errors.js', `src/${file} imports ${spec}: the OTP rules stand on nothing but the error catalogue`);
      }
    }
  });

  it('catches what it should, on a made-up tree', () => {
    const tree = new Map<string, string[]>([
      ['errors.ts', []],
      ['transaction/open.ts', ['../errors.js', './record.js', 'node:fs']],
      ['transaction/record.ts', ['../pipes/types.js']],
      ['pipes/types.ts', ['../transaction/index.js']],
      ['transaction/index.ts', ['./open.js']],
      ['store/memory-store.ts', ['../transaction/index.js', '../otp/otp-router.js', 'winston']],
      ['store/memory-table.ts', ['../transaction/open.js']],
      ['valves/outbox.ts', ['express']],
      ['otp/otp-router.ts', ['../store/types.js', '../transaction/index.js', '../authn/step.js', 'express']],
      ['attic/old.ts', []],
    ]);
    const messages = houseViolations(tree).map((v) => v.message);
    const expect = (pattern: RegExp): void => assert.ok(messages.some((m) => pattern.test(m)), `no message matches ${pattern}:\n${messages.join('\n')}`);
    expect(/^src\/store\/memory-store\.ts imports src\/otp\/otp-router\.ts: store \(.+\) sits below otp \(.+\); imports point down$/);
    expect(/^src\/transaction\/record\.ts imports src\/pipes\/types\.ts: transaction/);
    expect(/^src\/store\/memory-store\.ts imports winston: nothing but events\/ calls winston/);
    expect(/^src\/valves\/outbox\.ts imports express:/);
    expect(/^src\/transaction\/open\.ts imports node:fs: the rules and the code helpers do no I\/O$/);
    expect(/^src\/attic\/old\.ts is in no room of the plan/);
    expect(/^src\/store\/memory-table\.ts imports src\/transaction\/open\.ts: the rest of src\/ reaches transaction\/ through its one face, src\/transaction\/index\.ts$/);
    expect(/^files import each other: src\/pipes\/types\.ts -> src\/transaction\/index\.ts -> src\/transaction\/open\.ts -> src\/transaction\/record\.ts -> src\/pipes\/types\.ts;/);
    // Imports that point down are not reported: the otp router may use the store and the framework below it.
    assert.ok(!messages.some((m) => m.startsWith('src/otp/otp-router.ts')), messages.join('\n'));
    assert.equal(messages.length, 8, messages.join('\n'));
  });

  it('docs/architecture.md shows the rooms in the plan\'s order', () => {
    const doc = readFileSync('docs/architecture.md', 'utf8');
    const listed = [...doc.matchAll(/^\| \d+ \| `src\/([^`]+?)\/?` \|/gm)].map((m) => m[1]);
    assert.deepEqual(listed, [...ROOMS].reverse().map((r) => r.name));
  });
});
