import { escapeHtml, renderShell } from '../web/html.js';
import type { PageContext } from '../web/page-context.js';
import type { AuthnUser } from '../authn/passport-strategy.js';

export function renderHomePage(ctx: PageContext, user: AuthnUser | undefined): string {
  const t = ctx.t;
  const body = user
    ? `<h1>${escapeHtml(t('demo.title'))}</h1><p>${escapeHtml(t('demo.signed_in_as', { user: user.username }))}</p><p><a href="/account">${escapeHtml(t('demo.account'))}</a></p>`
    : `<h1>${escapeHtml(t('demo.title'))}</h1><p><a href="/authn/login">${escapeHtml(t('demo.login'))}</a></p>`;
  return renderShell(ctx, { title: t('demo.title'), body });
}

export function renderAccountPage(ctx: PageContext, user: AuthnUser, reports: { label: string; report: unknown }[]): string {
  const t = ctx.t;
  const rows = Object.entries(user).filter(([, v]) => typeof v === 'string')
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const sections = reports.map((r, i) => `<h2>${escapeHtml(r.label)}</h2>
<pre id="${i === 0 ? 'otp-report' : `report-${i}`}">${escapeHtml(JSON.stringify(r.report ?? null, null, 2))}</pre>`).join('\n');
  const body = `<h1>${escapeHtml(t('demo.account'))}</h1>
<table id="user">${rows}</table>
${sections}
<p><a href="/authn/phone">${escapeHtml(t('demo.verify_phone'))}</a></p>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${escapeHtml(ctx.csrfToken)}"><button type="submit" class="secondary">${escapeHtml(t('demo.logout'))}</button></form>`;
  return renderShell(ctx, { title: t('demo.account'), body });
}
