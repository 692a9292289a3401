import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

function keys(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object') return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

/** i18next plural forms differ by language (en: _one/_other; sv the same); compare the base keys. */
const base = (k: string) => k.replace(/_(zero|one|two|few|many|other)$/, '');

describe('locales: English and Swedish hold the same keys', () => {
  const namespaces = readdirSync('locales/en').filter((f) => f.endsWith('.json'));

  it('both languages have the same namespace files', () => {
    assert.deepEqual(readdirSync('locales/sv').filter((f) => f.endsWith('.json')).sort(), [...namespaces].sort());
  });

  for (const ns of namespaces) {
    it(`${ns}: every key in both`, () => {
      const en = new Set(keys(JSON.parse(readFileSync(`locales/en/${ns}`, 'utf8'))).map(base));
      const sv = new Set(keys(JSON.parse(readFileSync(`locales/sv/${ns}`, 'utf8'))).map(base));
      assert.deepEqual([...en].filter((k) => !sv.has(k)), [], 'missing in sv');
      assert.deepEqual([...sv].filter((k) => !en.has(k)), [], 'missing in en');
    });
  }

  it('keeps the original keys of the product, with change_language empty as in the original', () => {
    const en = JSON.parse(readFileSync('locales/en/translation.json', 'utf8'));
    for (const k of ['otp', 'start_validate', 'verified', 'redirecting', 'cancel', 'ERROR']) assert.equal(typeof en.otp_validation[k], 'string', k);
    assert.equal(typeof en['allow-cookies-body'], 'string');
    assert.equal(typeof en['allow-cookies-button'], 'string');
    assert.equal(en.change_language, '');
    assert.ok(en.language_switch, 'the switch has a label of its own');
  });
});
