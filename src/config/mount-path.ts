import type { AuthenticatorEntry } from './types.js';

/** Where an authenticator is served: `context_path`, or `base_path + "/" + id` (the config check allows one). */
export function mountPath(entry: Pick<AuthenticatorEntry, 'id' | 'config'>): string {
  const c = entry.config as { base_path?: string; context_path?: string };
  if (c.context_path) return c.context_path;
  return `${(c.base_path ?? '').replace(/\/+$/, '')}/${entry.id}`;
}
