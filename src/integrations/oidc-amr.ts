/**
 * What a login really did, as RFC 8176 `amr` values, and the `acr` it reached, from the chain's session state:
 * `pwd` for a password step; `otp` for any one-time code, with `sms` or `tel` (voice) for the way it came (an
 * e-mail code and an app's TOTP are `otp` only; a recovery code is a one-time code too); `mfa` once two kinds of
 * factor were passed. A trusted browser adds nothing (its report says so). Pure: no I/O.
 */
export interface AmrStep {
  id: string;
  /** The step's authenticator type (canonical): UserNameAndPassword, OTP, Selector, ... */
  type: string;
}

export interface AcrValue {
  value: string;
  steps: readonly string[];
}

const ORDER = ['pwd', 'otp', 'sms', 'tel', 'mfa'];

interface ReportLike { detail?: unknown; properties?: { channel?: unknown } }

function codeAmr(report: ReportLike | undefined): string[] {
  if (!report || report.detail === 'TRUSTED DEVICE') return [];
  const channel = report.properties?.channel;
  return channel === 'sms' ? ['otp', 'sms'] : channel === 'voice' ? ['otp', 'tel'] : ['otp'];
}

/**
 * `completed`: the steps of the chain done in this session; `exports`: the session's exports (the reports per
 * authenticator id under `otp_reports`, the selector's choice under `otp_method`).
 */
export function amrOf(steps: readonly AmrStep[], completed: readonly string[], exports: Record<string, unknown>): string[] {
  const reports = (exports.otp_reports ?? {}) as Record<string, ReportLike>;
  const out = new Set<string>();
  for (const step of steps) {
    if (!completed.includes(step.id)) continue;
    if (step.type === 'UserNameAndPassword') out.add('pwd');
    else if (step.type === 'OTP') for (const v of codeAmr(reports[step.id])) out.add(v);
    else if (step.type === 'Selector') {
      const method = exports.otp_method;
      if (typeof method === 'string' && method !== 'trusted_device') for (const v of codeAmr(reports[method] ?? {})) out.add(v);
    }
  }
  if (out.has('pwd') && out.has('otp')) out.add('mfa');
  return ORDER.filter((v) => out.has(v));
}

/**
 * The acr a login must reach for this authorisation request: the first requested value we offer (essential
 * `claims` first, then `acr_values`); else the default. `unmet` when the client insists (essential) on values
 * we do not offer: the login cannot satisfy it.
 */
export function targetAcr(acrs: readonly AcrValue[], defaultAcr: string | undefined, requested: { essential: readonly string[]; voluntary: readonly string[] }): AcrValue | 'unmet' {
  const known = (v: string) => acrs.find((a) => a.value === v);
  for (const v of requested.essential) {
    const a = known(v);
    if (a) return a;
  }
  if (requested.essential.length > 0) return 'unmet';
  for (const v of requested.voluntary) {
    const a = known(v);
    if (a) return a;
  }
  return known(defaultAcr ?? '') ?? acrs[acrs.length - 1]!;
}
