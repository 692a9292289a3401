import { escapeHtml, renderShell } from './html.js';
import type { PageContext } from './page-context.js';

/**
 * The OTP step, server-rendered. Every control is a plain form (POST with `_csrf` and `otp` or `action`), so it
 * works without JavaScript; assets/otp-form.js enhances the same forms through the JSON API.
 */
export interface OtpPageModel {
  ctx: PageContext;
  overlayDir: string | null;
  /** The authenticator's own path (forms post here, the script calls it). */
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
  /** Under a Selector: the "Try another way" link. */
  chooseLocation?: string;
  /** `trust_device.days` when on: the "Don't ask again on this browser" box. */
  trustDays?: number;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

export function renderOtpPage(m: OtpPageModel): string {
  const { ctx } = m;
  const t = ctx.t;
  const csrf = hidden('_csrf', ctx.csrfToken);
  const pending = m.state === 'PENDING';
  const attempts = (n: number) => t(n === 1 ? 'otp.attempts_left_one' : 'otp.attempts_left_other', { count: n });
  const data: Record<string, string> = {
    api: m.action,
    'resend-in': String(m.resendIn ?? 0),
    'resend-label': t('otp.resend'),
    'resend-wait': t('otp.resend_wait', { seconds: '{{seconds}}' }),
    'attempts-one': t('otp.attempts_left_one', { count: '{{count}}' }),
    'attempts-other': t('otp.attempts_left_other', { count: '{{count}}' }),
    'sent-to': t('otp.sent_to', { destination: '{{destination}}' }),
    resent: t('otp.resent'),
    redirecting: t('otp_validation.redirecting'),
    'generic-error': t('errors.UNAVAILABLE'),
  };
  const dataAttrs = Object.entries(data).map(([k, v]) => `data-${k}="${escapeHtml(v)}"`).join(' ');
  const status = `<p id="otp-error" role="alert" aria-live="assertive">${escapeHtml(m.error ?? '')}</p>
<p id="otp-notice" class="notice" aria-live="polite"></p>`;

  const another = m.chooseLocation && m.state !== 'ABORTED'
    ? `\n<p><a id="try-another-way" href="${escapeHtml(m.chooseLocation)}">${escapeHtml(t('selector.try_another_way'))}</a></p>` : '';
  let body: string;
  if (m.state === 'ABORTED') {
    body = `<h1>${escapeHtml(t('otp_validation.otp'))}</h1>${status}
<p>${escapeHtml(t('errors.MAX_ATTEMPTS'))}</p>
<p><a href="${escapeHtml(m.failureLocation ?? '/')}">${escapeHtml(t('otp.continue'))}</a></p>`;
  } else {
    const entry = pending ? `
<form id="otp-form" method="post" action="${escapeHtml(m.action)}" novalidate>
${csrf}
<label for="otp">${escapeHtml(t('otp_validation.otp'))}</label>
<input id="otp" name="otp" type="text" autocomplete="one-time-code" ${m.numeric ? 'inputmode="numeric"' : 'autocapitalize="characters" spellcheck="false"'} maxlength="${m.codeLength + 6}" required autofocus aria-describedby="otp-error attempts-left">
${m.trustDays ? `<label class="check"><input id="trust-device" name="trust_device" type="checkbox" value="on"> ${escapeHtml(t('otp.trust_device', { count: m.trustDays }))}</label>` : ''}
<button type="submit" class="primary-action">${escapeHtml(t('otp_validation.start_validate'))}</button>
</form>` : '';
    const resend = pending && (m.codesLeft ?? 0) > 0 ? `
<form id="resend-form" method="post" action="${escapeHtml(m.action)}">${csrf}${hidden('action', 'resend')}
<button id="resend" type="submit" class="secondary">${escapeHtml(t('otp.resend'))}</button></form>` : '';
    const cancel = `<form id="cancel-form" method="post" action="${escapeHtml(m.action)}">${csrf}${hidden('action', 'cancel')}
<button type="submit" class="secondary">${escapeHtml(t('otp_validation.cancel'))}</button></form>`;
    const change = m.allowChange && pending ? `
<details><summary>${escapeHtml(t('otp.change_destination'))}</summary>
<form id="change-form" method="post" action="${escapeHtml(m.action)}">${csrf}${hidden('action', 'change_destination')}
<label for="destination">${escapeHtml(t('otp.new_destination'))}</label>
<input id="destination" name="destination" type="tel" autocomplete="tel" required>
<button type="submit">${escapeHtml(t('otp.send_to_new'))}</button></form></details>` : '';
    const sent = m.destination ? escapeHtml(t('otp.sent_to', { destination: m.destination })) : '';
    const left = m.attemptsLeft !== null && pending ? escapeHtml(attempts(m.attemptsLeft)) : '';
    const expired = m.state === 'EXPIRED' ? `<p>${escapeHtml(t('otp.expired'))}</p>` : '';
    body = `<div id="otp-step" ${dataAttrs}>
<h1>${escapeHtml(t('otp_validation.otp'))}</h1>
<p id="destination-text">${sent}</p>
${expired}${status}
<p id="attempts-left">${left}</p>
${entry}
<div class="row">${resend}${cancel}</div>
${change}${another}
<p><a id="failure-link" href="${escapeHtml(m.failureLocation ?? '/')}" hidden>${escapeHtml(t('otp.continue'))}</a></p>
</div>`;
  }
  return renderShell(ctx, { title: t('otp_validation.otp'), body, script: true }, m.overlayDir);
}
