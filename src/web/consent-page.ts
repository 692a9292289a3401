import { escapeHtml, renderShell } from './html.js';
import type { PageContext } from './page-context.js';

/**
 * The consent page of the OIDC provider, for a client that is not first-party: what it asks for, Allow or Deny
 * (two forms, CSRF-checked, no JavaScript needed).
 */
export interface ConsentPageModel {
  ctx: PageContext;
  overlayDir: string | null;
  action: string;
  client: string;
  scopes: readonly string[];
}

const KNOWN_SCOPES = new Set(['openid', 'profile', 'otp_report', 'offline_access']);

export function renderConsentPage(m: ConsentPageModel): string {
  const t = m.ctx.t;
  const csrf = `<input type="hidden" name="_csrf" value="${escapeHtml(m.ctx.csrfToken)}">`;
  const items = m.scopes.map((s) => `<li data-scope="${escapeHtml(s)}">${escapeHtml(KNOWN_SCOPES.has(s) ? t(`oidc.scope_${s}`) : s)}</li>`).join('\n');
  const body = `<h1 id="consent-title">${escapeHtml(t('oidc.consent_title', { client: m.client }))}</h1>
<p>${escapeHtml(t('oidc.consent_asks'))}</p>
<ul id="consent-scopes">
${items}
</ul>
<form id="consent-allow" method="post" action="${escapeHtml(m.action)}">${csrf}<input type="hidden" name="decision" value="allow">
<button type="submit" class="primary-action">${escapeHtml(t('oidc.allow'))}</button></form>
<form id="consent-deny" method="post" action="${escapeHtml(m.action)}">${csrf}<input type="hidden" name="decision" value="deny">
<button type="submit" class="secondary">${escapeHtml(t('oidc.deny'))}</button></form>`;
  return renderShell(m.ctx, { title: t('oidc.consent_title', { client: m.client }), body }, m.overlayDir);
}

/** A sign-in that cannot go on (expired, finished, from another browser): say so, and where to start again. */
export function renderInteractionGonePage(ctx: PageContext, overlayDir: string | null): string {
  const t = ctx.t;
  const body = `<h1>${escapeHtml(t('oidc.gone_title'))}</h1>
<p id="interaction-gone" role="alert">${escapeHtml(t('oidc.gone'))}</p>`;
  return renderShell(ctx, { title: t('oidc.gone_title'), body }, overlayDir);
}
