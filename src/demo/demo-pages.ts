import { escapeHtml, renderShell } from '../web/html.js';
import type { PageContext } from '../web/page-context.js';
import type { AuthnUser } from '../authn/passport-strategy.js';
import { RECOVERY_CODES_LOW } from '../transaction/index.js';

export function renderHomePage(ctx: PageContext, user: AuthnUser | undefined): string {
  const t = ctx.t;
  const body = user
    ? `<h1>${escapeHtml(t('demo.title'))}</h1><p>${escapeHtml(t('demo.signed_in_as', { user: user.username }))}</p><p><a href="/account">${escapeHtml(t('demo.account'))}</a></p>`
    : `<h1>${escapeHtml(t('demo.title'))}</h1><p><a href="/authn/login">${escapeHtml(t('demo.login'))}</a></p>`;
  return renderShell(ctx, { title: t('demo.title'), body });
}

export interface MethodsTried {
  method: string | null;
  tried: { id: string; channel: string | null; outcome: string }[];
}

/** A secret (the TOTP seed) is the user's, in the session for the valve that needs it: never on a page. */
const SHOWN = (key: string, value: unknown): boolean => typeof value === 'string' && !/secret/i.test(key);

export interface DeviceRow {
  id: string;
  user_agent: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number;
}

function devicesSection(ctx: PageContext, devices: readonly DeviceRow[]): string {
  const t = ctx.t;
  const day = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 10));
  const csrf = `<input type="hidden" name="_csrf" value="${escapeHtml(ctx.csrfToken)}">`;
  if (devices.length === 0) return `<p id="no-devices">${escapeHtml(t('demo.no_devices'))}</p>`;
  const rows = devices.map((d) => `<tr><td>${escapeHtml(d.user_agent || '-')}</td><td>${escapeHtml(day(d.created_at))}</td><td>${escapeHtml(day(d.last_used_at))}</td><td>${escapeHtml(day(d.expires_at))}</td>
<td><form method="post" action="/account/devices/revoke">${csrf}<input type="hidden" name="id" value="${escapeHtml(d.id)}"><button type="submit" class="secondary">${escapeHtml(t('demo.revoke'))}</button></form></td></tr>`).join('\n');
  return `<table id="devices"><tr><th scope="col">${escapeHtml(t('demo.device'))}</th><th scope="col">${escapeHtml(t('demo.device_created'))}</th><th scope="col">${escapeHtml(t('demo.device_used'))}</th><th scope="col">${escapeHtml(t('demo.device_expires'))}</th><th></th></tr>
${rows}</table>
<form method="post" action="/account/devices/revoke">${csrf}<input type="hidden" name="id" value="all"><button type="submit" class="secondary" id="revoke-all">${escapeHtml(t('demo.revoke_all'))}</button></form>`;
}

/** The login's report says a recovery code was redeemed (properties.recovery_codes_left). */
function usedRecoveryCode(reports: readonly { report: unknown }[]): boolean {
  const p = (reports[0]?.report as { properties?: { recovery_codes_left?: unknown } } | undefined)?.properties;
  return typeof p?.recovery_codes_left === 'number';
}

export function renderAccountPage(ctx: PageContext, user: AuthnUser, reports: { label: string; report: unknown }[], methods?: MethodsTried, recoveryCodesLeft = 0, devices: readonly DeviceRow[] = []): string {
  const t = ctx.t;
  const rows = Object.entries(user).filter(([k, v]) => SHOWN(k, v) && k !== 'otp_method')
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const tried = methods?.method ? `<h2>${escapeHtml(t('demo.method'))}</h2>
<p id="otp-method">${escapeHtml(methods.method)}</p>
<h3>${escapeHtml(t('demo.methods_tried'))}</h3>
<table id="methods-tried">${methods.tried.map((m) => `<tr><th scope="row">${escapeHtml(m.id)}</th><td>${escapeHtml(m.channel ?? '')}</td><td>${escapeHtml(m.outcome)}</td></tr>`).join('')}</table>` : '';
  const sections = reports.map((r, i) => `<h2>${escapeHtml(r.label)}</h2>
<pre id="${i === 0 ? 'otp-report' : `report-${i}`}">${escapeHtml(JSON.stringify(r.report ?? null, null, 2))}</pre>`).join('\n');
  const body = `<h1>${escapeHtml(t('demo.account'))}</h1>
<table id="user">${rows}</table>
${tried}
${sections}
<h2 id="security-settings">${escapeHtml(t('demo.security_settings'))}</h2>
<p><a href="/authn/phone">${escapeHtml(t('demo.verify_phone'))}</a></p>
<p><a id="enroll-totp" href="/authn/enroll">${escapeHtml(t('demo.enroll_totp'))}</a></p>
<p><a id="recovery-codes-link" href="/authn/recovery-codes">${escapeHtml(t('demo.recovery_codes'))}</a>${recoveryCodesLeft > 0 ? ` <span id="recovery-codes-left">(${escapeHtml(t(recoveryCodesLeft === 1 ? 'recovery.left_one' : 'recovery.left_other', { count: recoveryCodesLeft }))})</span>` : ''}</p>
${recoveryCodesLeft <= RECOVERY_CODES_LOW && (recoveryCodesLeft > 0 || usedRecoveryCode(reports)) ? `<p id="recovery-codes-low" class="error">${escapeHtml(t('recovery.running_low', { count: recoveryCodesLeft }))}</p>` : ''}
<h3>${escapeHtml(t('demo.trusted_browsers'))}</h3>
${devicesSection(ctx, devices)}
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${escapeHtml(ctx.csrfToken)}"><button type="submit" class="secondary">${escapeHtml(t('demo.logout'))}</button></form>`;
  return renderShell(ctx, { title: t('demo.account'), body });
}
