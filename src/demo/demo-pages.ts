import { escapeHtml, renderShell } from '../web/html.js';
import type { AuthnUser } from '../authn/passport-strategy.js';

type T = (key: string, options?: Record<string, unknown>) => string;

export function renderHomePage(m: { user: AuthnUser | undefined; t: T; lang: string }): string {
  const body = m.user
    ? `<h1>${escapeHtml(m.t('demo.title'))}</h1><p>${escapeHtml(m.t('demo.signed_in_as', { user: m.user.username }))}</p><p><a href="/account">${escapeHtml(m.t('demo.account'))}</a></p>`
    : `<h1>${escapeHtml(m.t('demo.title'))}</h1><p><a href="/authn/login">${escapeHtml(m.t('demo.login'))}</a></p>`;
  return renderShell({ lang: m.lang, title: m.t('demo.title'), csrfToken: '', body });
}

export function renderAccountPage(m: { user: AuthnUser; report: unknown; csrfToken: string; t: T; lang: string }): string {
  const rows = Object.entries(m.user).filter(([, v]) => typeof v === 'string')
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const body = `<h1>${escapeHtml(m.t('demo.account'))}</h1>
<table id="user">${rows}</table>
<h2>${escapeHtml(m.t('demo.report'))}</h2>
<pre id="otp-report">${escapeHtml(JSON.stringify(m.report ?? null, null, 2))}</pre>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${escapeHtml(m.csrfToken)}"><button type="submit">${escapeHtml(m.t('demo.logout'))}</button></form>`;
  return renderShell({ lang: m.lang, title: m.t('demo.account'), csrfToken: m.csrfToken, body });
}
