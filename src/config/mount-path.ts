import type { AuthenticatorEntry } from './types.js';

type Mountable = Pick<AuthenticatorEntry, 'id' | 'config'> & { type?: string; canonicalType?: string };

/** Where an authenticator is served: `context_path`, or `base_path + "/" + id` (the config check allows one). */
export function mountPath(entry: Pick<AuthenticatorEntry, 'id' | 'config'>): string {
  const c = entry.config as { base_path?: string; context_path?: string };
  if (c.context_path) return c.context_path;
  return `${(c.base_path ?? '').replace(/\/+$/, '')}/${entry.id}`;
}

const isSelector = (a: Mountable): boolean => (a.canonicalType ?? a.type) === 'Selector';

/** For each choice of a Selector, the selector it belongs to (the first that names it; the config check refuses a second). */
export function selectorsOfChoices<A extends Mountable>(authenticators: readonly A[]): Map<string, A> {
  const out = new Map<string, A>();
  for (const a of authenticators) {
    if (!isSelector(a)) continue;
    for (const choice of (a.config as { choices?: { id: string }[] }).choices ?? []) if (!out.has(choice.id)) out.set(choice.id, a);
  }
  return out;
}

/**
 * Every authenticator's path. A choice of a Selector is served under it, at `{selector path}/{choice id}`, whatever
 * its own base_path says (as the original product's Selector handles the full URI).
 */
export function mountPaths(authenticators: readonly Mountable[]): Map<string, string> {
  const owners = selectorsOfChoices(authenticators);
  return new Map(authenticators.map((a) => {
    const owner = owners.get(a.id);
    return [a.id, owner && owner.id !== a.id ? `${mountPath(owner).replace(/\/+$/, '')}/${a.id}` : mountPath(a)];
  }));
}
