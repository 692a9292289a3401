import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/otp-api.js';

// docs/security.md ties every control to the test that proves it, by file and title. This keeps the ties true: every
// test file it names exists, and every quoted title after a file name is a test (or suite) title in that file.

const DOC = readFileSync(path.join(ROOT, 'docs', 'security.md'), 'utf8');
const FILE_REF = /`((?:attacks|http|unit|redis|browser)\/[\w.-]+\.ts)`/g;

/** Each reference: the file, and the quoted titles after it up to the next file, table cell or line end. */
function references(): { file: string; titles: string[] }[] {
  const joined = DOC.replace(/\n {2,}/g, ' ');
  const out: { file: string; titles: string[] }[] = [];
  for (const line of joined.split('\n')) {
    const refs = [...line.matchAll(FILE_REF)];
    refs.forEach((m, i) => {
      const start = m.index! + m[0].length;
      const end = Math.min(refs[i + 1]?.index ?? line.length, ...[line.indexOf('|', start)].filter((x) => x >= 0));
      const titles = [...line.slice(start, end).matchAll(/"([^"]+)"/g)].map((t) => t[1]!).filter((t) => !t.includes('…'));
      out.push({ file: m[1]!, titles });
    });
  }
  return out;
}

describe('docs/security.md: every test it names exists', () => {
  const refs = references();

  it('names test files, many of them', () => {
    assert.ok(new Set(refs.map((r) => r.file)).size >= 30, `${new Set(refs.map((r) => r.file)).size} files`);
    assert.ok(refs.reduce((n, r) => n + r.titles.length, 0) >= 100);
  });

  it('each file exists, and each quoted title is in it', () => {
    const missing: string[] = [];
    for (const { file, titles } of refs) {
      const full = path.join(ROOT, 'test', file);
      if (!existsSync(full)) { missing.push(`no file test/${file}`); continue; }
      const source = readFileSync(full, 'utf8').replace(/\\(['"`])/g, '$1');
      for (const title of titles) if (!source.includes(title)) missing.push(`test/${file}: no test titled "${title}"`);
    }
    assert.deepEqual(missing, []);
  });
});
