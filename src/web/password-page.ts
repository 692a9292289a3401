import { escapeHtml, renderShell } from './html.js';
import type { PageContext } from './page-context.js';

export interface PasswordPageModel {
  ctx: PageContext;
  overlayDir: string | null;
  action: string;
  error?: string;
}

/** The password step's form; plain HTML, no script needed. */
export function renderPasswordPage(m: PasswordPageModel): string {
  const t = m.ctx.t;
  const body = `<h1>${escapeHtml(t('password.title'))}</h1>
<p id="error" role="alert" aria-live="assertive" class="error">${escapeHtml(m.error ?? '')}</p>
<form method="post" action="${escapeHtml(m.action)}">
<input type="hidden" name="_csrf" value="${escapeHtml(m.ctx.csrfToken)}">
<label for="identifier">${escapeHtml(t('password.identifier'))}</label>
<input id="identifier" name="identifier" type="text" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">${escapeHtml(t('password.password'))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary-action">${escapeHtml(t('password.submit'))}</button>
</form>`;
  return renderShell(m.ctx, { title: t('password.title'), body }, m.overlayDir);
}
