/**
 * The checks of the `verify_api` block a schema cannot make: every key names an OTP authenticator that sends
 * codes (it has a pre_pipe_id), and no key id is listed twice.
 */
interface PathProblem { path: string; message: string }
interface RawAuthenticator { id: string; type: string; config: Record<string, unknown> }
interface RawVerifyApi { keys: { key_id: string; authenticator: string }[] }

const OTP_TYPES = new Set(['OTP', 'OTPAuthenticator', 'OTPValidator']);

export function checkVerifyApi(api: RawVerifyApi | undefined, authenticators: readonly RawAuthenticator[]): PathProblem[] {
  if (!api) return [];
  const out: PathProblem[] = [];
  const seen = new Set<string>();
  api.keys.forEach((k, i) => {
    if (seen.has(k.key_id)) out.push({ path: `verify_api.keys[${i}].key_id`, message: `key_id "${k.key_id}" is listed twice` });
    seen.add(k.key_id);
    const a = authenticators.find((x) => x.id === k.authenticator);
    if (!a) out.push({ path: `verify_api.keys[${i}].authenticator`, message: `no authenticator "${k.authenticator}"` });
    else if (!OTP_TYPES.has(a.type)) out.push({ path: `verify_api.keys[${i}].authenticator`, message: `"${k.authenticator}" is a ${a.type}, not an OTP authenticator` });
    else if (!a.config.pre_pipe_id) out.push({ path: `verify_api.keys[${i}].authenticator`, message: `"${k.authenticator}" sends no codes (it has no pre_pipe_id)` });
  });
  return out;
}
