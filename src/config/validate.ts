import { readdirSync } from 'node:fs';
import path from 'node:path';
import { packagePath } from '../package-root.js';
import { getAuthenticatorType } from './authenticator-types.js';
import type { PipeDefinition } from '../pipes/types.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { crossCheckAll } from './cross-checks.js';
import { originOf, type LoadedDocument } from './load.js';
import { describeSchemaError } from '../schema-messages.js';
import { configValidator } from './schema.js';
import type { AppConfig, AuthenticatorEntry } from './types.js';

const LOCALES_DIR = packagePath('locales');

export function availableLanguages(): string[] {
  try {
    return readdirSync(LOCALES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * Validates a loaded document against the schema (filling in defaults), then runs the cross-checks.
 * Returns the frozen configuration, or throws ConfigError listing every problem with its file and path.
 */
export function validateConfig(doc: LoadedDocument): AppConfig {
  const data = structuredClone(doc.data) as Record<string, unknown>;
  const validate = configValidator();
  const problems: ConfigProblem[] = [];
  const locate = (jsonPath: string, message: string): ConfigProblem => ({ file: originOf(doc, jsonPath), path: jsonPath, message });

  if (!validate(data)) {
    const seen = new Set<string>();
    for (const error of validate.errors ?? []) {
      const described = describeSchemaError(error, data);
      if (!described) continue;
      const key = `${described.path}\n${described.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(locate(described.path, described.message));
    }
    // Cross-checks assume the shapes the schema guarantees; with shape errors they would only add noise.
    throw new ConfigError(problems);
  }

  const raw = data as unknown as Parameters<typeof crossCheckAll>[0];
  const checked = crossCheckAll(raw, availableLanguages());
  for (const p of checked.problems) problems.push(locate(p.path, p.message));
  if (problems.length > 0) throw new ConfigError(problems);

  const dir = path.dirname(path.resolve(doc.file));
  const authenticators = (data.authenticators as { id: string; type: string; config: Record<string, unknown> }[])
    .map((a): AuthenticatorEntry => ({ ...a, canonicalType: getAuthenticatorType(a.type)?.name ?? a.type }));
  const config: AppConfig = {
    source: { file: doc.file, dir },
    globals: data.globals as Record<string, unknown>,
    server: data.server as AppConfig['server'],
    store: data.store as AppConfig['store'],
    logging: data.logging as AppConfig['logging'],
    i18n: data.i18n as AppConfig['i18n'],
    overlay_dir: typeof data.overlay_dir === 'string' ? path.resolve(dir, data.overlay_dir) : null,
    pipes: data.pipes as PipeDefinition[],
    authenticators,
    oidc: (data.oidc as AppConfig['oidc'] | undefined) ?? null,
    verify_api: (data.verify_api as AppConfig['verify_api'] | undefined) ?? null,
    warnings: checked.warnings.map((p) => locate(p.path, p.message)),
  };
  return deepFreeze(config);
}
