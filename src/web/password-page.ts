import { escapeHtml, renderShell } from './html.js';

export interface PasswordPageModel {
  lang: string;
  t: (key: string, options?: Record<string, unknown>) => string;
  csrfToken: string;
  action: string;
  error?: string;
}

/** The password step's form; works without JavaScript. */
export function renderPasswordPage(m: PasswordPageModel): string {
  const t = m.t;
  const error = m.error ? `<p id="error" role="alert">${escapeHtml(m.error)}</p>` : '';
  const body = `<h1>${escapeHtml(t('password.title'))}</h1>
${error}
<form method="post" action="${escapeHtml(m.action)}">
<input type="hidden" name="_csrf" value="${escapeHtml(m.csrfToken)}">
<label for="identifier">${escapeHtml(t('password.identifier'))}</label>
<input id="identifier" name="identifier" type="text" autocomplete="username" required autofocus>
<label for="password">${escapeHtml(t('password.password'))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">${escapeHtml(t('password.submit'))}</button>
</form>`;
  return renderShell({ lang: m.lang, title: t('password.title'), csrfToken: m.csrfToken, body });
}
