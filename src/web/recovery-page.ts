import { escapeHtml, renderShell } from './html.js';
import type { PageContext } from './page-context.js';

/**
 * The recovery codes page: how many are left and the form that makes a new set; after it, the new codes, shown
 * this once, with a link that saves them as a text file (a data: URL made here: nothing is fetched).
 */
export interface RecoveryPageModel {
  ctx: PageContext;
  overlayDir: string | null;
  action: string;
  codesLeft: number;
  /** The new codes, formatted, when a set was just made. */
  codes?: readonly string[];
  continueTo?: string;
  error?: string;
}

export function renderRecoveryPage(m: RecoveryPageModel): string {
  const t = m.ctx.t;
  const shown = m.codes ? `
<p>${escapeHtml(t('recovery.shown_once'))}</p>
<ol id="recovery-codes" class="secret" translate="no">${m.codes.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ol>
<p><a id="recovery-download" download="recovery-codes.txt" href="${escapeHtml(`data:text/plain;charset=utf-8,${encodeURIComponent(`${m.codes.join('\n')}\n`)}`)}">${escapeHtml(t('recovery.download'))}</a></p>
<p><a id="recovery-continue" href="${escapeHtml(m.continueTo ?? '/')}">${escapeHtml(t('otp.continue'))}</a></p>` : `
<p id="recovery-left">${escapeHtml(t(m.codesLeft === 1 ? 'recovery.left_one' : 'recovery.left_other', { count: m.codesLeft }))}</p>${m.codesLeft === 0 ? `
<p id="recovery-why">${escapeHtml(t('recovery.why'))}</p>` : ''}
<form id="recovery-form" method="post" action="${escapeHtml(m.action)}">
<input type="hidden" name="_csrf" value="${escapeHtml(m.ctx.csrfToken)}">
<input type="hidden" name="action" value="generate">
<button type="submit" class="primary-action">${escapeHtml(t('recovery.generate'))}</button>
</form>`;
  const body = `<h1>${escapeHtml(t('recovery.title'))}</h1>
<p id="recovery-error" role="alert" aria-live="assertive" class="error">${escapeHtml(m.error ?? '')}</p>${shown}`;
  return renderShell(m.ctx, { title: t('recovery.title'), body }, m.overlayDir);
}
