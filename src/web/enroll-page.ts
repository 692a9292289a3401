import { escapeHtml, renderShell } from './html.js';
import type { PageContext } from './page-context.js';

/**
 * TotpEnroll's page: the QR code (SVG made on the server: no request leaves the page, the CSP is unchanged), the
 * key in groups of four for typing, and the form that activates it with a current code. Plain HTML.
 */
export interface EnrollPageModel {
  ctx: PageContext;
  overlayDir: string | null;
  action: string;
  /** Made by the qrcode library from our own URI; it holds no user input but the escaped account name. */
  qrSvg: string | null;
  secretGroups: readonly string[];
  digits: number;
  error?: string;
}

export function renderEnrollPage(m: EnrollPageModel): string {
  const t = m.ctx.t;
  const form = m.qrSvg ? `
<figure id="totp-qr" aria-label="${escapeHtml(t('enroll.qr_label'))}">${m.qrSvg}</figure>
<p>${escapeHtml(t('enroll.manual'))}</p>
<p id="totp-secret" class="secret" translate="no">${m.secretGroups.map((g) => `<span>${escapeHtml(g)}</span>`).join(' ')}</p>
<form id="enroll-form" method="post" action="${escapeHtml(m.action)}">
<input type="hidden" name="_csrf" value="${escapeHtml(m.ctx.csrfToken)}">
<label for="otp">${escapeHtml(t('enroll.code'))}</label>
<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="${m.digits + 6}" required>
<button type="submit" class="primary-action">${escapeHtml(t('enroll.activate'))}</button>
</form>` : '';
  const body = `<h1>${escapeHtml(t('enroll.title'))}</h1>
<p id="enroll-error" role="alert" aria-live="assertive" class="error">${escapeHtml(m.error ?? '')}</p>
${m.qrSvg ? `<p>${escapeHtml(t('enroll.scan'))}</p>` : ''}${form}`;
  return renderShell(m.ctx, { title: t('enroll.title'), body }, m.overlayDir);
}
