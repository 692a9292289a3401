/**
 * One problem found in a configuration: where (file and JSON path) and what (expected, found).
 * Every config check reports through this type, so the CLI and the server print the same messages.
 */
export interface ConfigProblem {
  /** The file the offending value came from (after @include), as given or relative to the cwd. */
  file: string;
  /** Dotted JSON path from the root of the loaded document, e.g. `authenticators[2].config.pipe_id`. */
  path: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}: ${p.path || '(root)'}: ${p.message}`;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Appends a key or index to a dotted JSON path. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}
