import '../valves/index.js';
import { loadConfigDocument } from './load.js';
import type { AppConfig } from './types.js';
import { validateConfig } from './validate.js';

export { ConfigError, formatProblem, type ConfigProblem } from './config-error.js';
export type * from './types.js';

/**
 * Loads, expands, validates and freezes a configuration file. Throws ConfigError listing every problem.
 * Built-in authenticator types and valves are registered first; a host program registers its own before calling.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): AppConfig {
  return validateConfig(loadConfigDocument(file, env));
}
