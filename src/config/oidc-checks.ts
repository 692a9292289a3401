/**
 * The checks of the `oidc` block a schema cannot make: `chain` names a Chain; each acr's steps are steps of that
 * chain (its leaves, through nested chains: a Selector is one step); acr values, client ids and a client's
 * redirect URIs are unique; `default_acr` is one of the values.
 */
interface PathProblem { path: string; message: string }
interface RawAuthenticator { id: string; type: string; config: Record<string, unknown> }
interface RawOidc {
  chain: string;
  acr_values: { value: string; steps: string[] }[];
  default_acr?: string;
  clients: { client_id: string; redirect_uris: string[] }[];
}

/** The leaves of a chain in order: nested chains are opened, anything else (a Selector too) is one step. */
export function chainLeaves(authenticators: readonly RawAuthenticator[], chainId: string, seen = new Set<string>()): string[] {
  const byId = new Map(authenticators.map((a) => [a.id, a]));
  const chain = byId.get(chainId);
  if (!chain || chain.type !== 'Chain' || seen.has(chainId)) return [];
  seen.add(chainId);
  return ((chain.config.chain ?? []) as { id: string }[]).flatMap((s) => (byId.get(s.id)?.type === 'Chain' ? chainLeaves(authenticators, s.id, seen) : [s.id]));
}

function repeated(values: readonly string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

export function checkOidc(oidc: RawOidc | undefined, authenticators: readonly RawAuthenticator[]): PathProblem[] {
  if (!oidc) return [];
  const out: PathProblem[] = [];
  const chain = authenticators.find((a) => a.id === oidc.chain);
  if (!chain) out.push({ path: 'oidc.chain', message: `no authenticator "${oidc.chain}"` });
  else if (chain.type !== 'Chain') out.push({ path: 'oidc.chain', message: `"${oidc.chain}" is a ${chain.type}, not a Chain` });
  const leaves = new Set(chainLeaves(authenticators, oidc.chain));
  oidc.acr_values.forEach((acr, i) => {
    acr.steps.forEach((step, j) => {
      if (chain?.type === 'Chain' && !leaves.has(step)) out.push({ path: `oidc.acr_values[${i}].steps[${j}]`, message: `"${step}" is not a step of chain "${oidc.chain}" (its steps: ${[...leaves].join(', ')})` });
    });
  });
  for (const v of new Set(repeated(oidc.acr_values.map((a) => a.value)))) out.push({ path: 'oidc.acr_values', message: `acr value "${v}" is listed twice` });
  if (oidc.default_acr !== undefined && !oidc.acr_values.some((a) => a.value === oidc.default_acr)) {
    out.push({ path: 'oidc.default_acr', message: `"${oidc.default_acr}" is not one of acr_values (${oidc.acr_values.map((a) => a.value).join(', ')})` });
  }
  for (const id of new Set(repeated(oidc.clients.map((c) => c.client_id)))) out.push({ path: 'oidc.clients', message: `client_id "${id}" is listed twice` });
  oidc.clients.forEach((c, i) => {
    for (const uri of new Set(repeated(c.redirect_uris))) out.push({ path: `oidc.clients[${i}].redirect_uris`, message: `"${uri}" is listed twice` });
  });
  return out;
}
