import assert from 'node:assert/strict';
import type { Request } from 'express';
import { createTranslations, languageOf, translatorOf } from '../../src/i18n/setup.js';

// The JSON shortcut detects a request's language with `remember`: the package's answers get it (through its
// WeakMap), but nothing is added to the request, which no host route sees (bench/README.md, F1b, finding 2).
// The router's middleware (`detect`) still sets req.t and req.language for the host's routes.
describe('i18n: remember, the language without properties on the request', () => {
  const fakeRequest = () => ({ url: '/authn/otp', headers: { 'accept-language': 'sv-SE,sv;q=0.9' } }) as unknown as Request & { t?: unknown; language?: unknown };

  it('remember: the language and translator are known, req.t and req.language are not set', async () => {
    const translations = await createTranslations({ languages: ['en', 'sv'], fallback: 'en' } as never);
    const req = fakeRequest();
    translations.remember(req);
    assert.equal(languageOf(req), 'sv');
    assert.equal(typeof translatorOf(req), 'function');
    assert.equal(Object.prototype.hasOwnProperty.call(req, 't'), false);
    assert.equal(Object.prototype.hasOwnProperty.call(req, 'language'), false);
  });

  it('detect (the router\'s way): the same language, and req.t and req.language set for host routes', async () => {
    const translations = await createTranslations({ languages: ['en', 'sv'], fallback: 'en' } as never);
    const req = fakeRequest();
    translations.detect(req);
    assert.equal(req.language, 'sv');
    assert.equal(typeof req.t, 'function');
  });
});
