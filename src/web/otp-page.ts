import { escapeHtml, renderShell } from './html.js';

/**
 * The OTP step as a plain server-rendered page: works without JavaScript (form POST with `_csrf` and `otp` or
 * `action`). The next step (the web-form issue) enhances it; this one keeps every control reachable.
 */
export interface OtpPageModel {
  lang: string;
  t: (key: string, options?: Record<string, unknown>) => string;
  csrfToken: string;
  action: string;
  state: string;
  destination: string | null;
  attemptsLeft: number | null;
  codesLeft: number | null;
  resendIn: number | null;
  allowChange: boolean;
  numeric: boolean;
  codeLength: number;
  error?: string;
  failureLocation?: string;
}

export function renderOtpPage(m: OtpPageModel): string {
  const t = m.t;
  const csrf = `<input type="hidden" name="_csrf" value="${escapeHtml(m.csrfToken)}">`;
  const error = m.error ? `<p id="otp-error" role="alert">${escapeHtml(m.error)}</p>` : '<p id="otp-error" role="alert" hidden></p>';
  let body: string;
  if (m.state === 'ABORTED') {
    body = `<h1>${escapeHtml(t('otp_validation.otp'))}</h1>${error}<p><a href="${escapeHtml(m.failureLocation ?? '/')}">${escapeHtml(t('otp.continue'))}</a></p>`;
  } else {
    const entry = m.state === 'PENDING' ? `
<form method="post" action="${escapeHtml(m.action)}">
${csrf}
<label for="otp">${escapeHtml(t('otp_validation.otp'))}</label>
<input id="otp" name="otp" type="text" autocomplete="one-time-code" ${m.numeric ? 'inputmode="numeric" pattern="[0-9 -]*"' : 'autocapitalize="characters"'} maxlength="${m.codeLength + 4}" required autofocus aria-describedby="otp-error">
<button type="submit">${escapeHtml(t('otp_validation.start_validate'))}</button>
</form>` : '';
    const resend = m.state === 'PENDING' && (m.codesLeft ?? 0) > 0 ? `
<form method="post" action="${escapeHtml(m.action)}">${csrf}<input type="hidden" name="action" value="resend">
<button type="submit" data-resend-in="${escapeHtml(m.resendIn ?? 0)}">${escapeHtml(t('otp.resend'))}</button></form>` : '';
    const change = m.allowChange && m.state === 'PENDING' ? `
<form method="post" action="${escapeHtml(m.action)}">${csrf}<input type="hidden" name="action" value="change_destination">
<label for="destination">${escapeHtml(t('otp.new_destination'))}</label>
<input id="destination" name="destination" type="text" autocomplete="tel" required>
<button type="submit">${escapeHtml(t('otp.change_destination'))}</button></form>` : '';
    const sent = m.destination ? `<p>${escapeHtml(t('otp.sent_to', { destination: m.destination }))}</p>` : '';
    const left = m.attemptsLeft !== null && m.state === 'PENDING' ? `<p id="attempts-left">${escapeHtml(t('otp.attempts_left', { count: m.attemptsLeft }))}</p>` : '';
    const expired = m.state === 'EXPIRED' ? `<p>${escapeHtml(t('otp.expired'))}</p>` : '';
    body = `<h1>${escapeHtml(t('otp_validation.otp'))}</h1>
${sent}${expired}${error}${left}${entry}${resend}${change}
<form method="post" action="${escapeHtml(m.action)}">${csrf}<input type="hidden" name="action" value="cancel">
<button type="submit">${escapeHtml(t('otp_validation.cancel'))}</button></form>`;
  }
  return renderShell({ lang: m.lang, title: t('otp_validation.otp'), csrfToken: m.csrfToken, body });
}
