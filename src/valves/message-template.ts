/**
 * The `{{name}}` placeholders of the Outbox valve's one-line `template` (a development valve: one text for every
 * language). The real delivery valves render per-language i18next texts with the same variable names
 * (message-catalogue.ts).
 */
export const DEFAULT_CODE_TEMPLATE = '{{code}} is your {{app}} code. It expires in {{minutes}} minutes.';

export interface CodeMessageVars {
  code: string;
  minutes: number;
  app: string;
  fn?: string;
  ln?: string;
}

/**
 * An unknown `{{...}}` placeholder becomes empty rather than reaching the user. PhoneMatch's single-brace names
 * (`{pin}` for the code, `{fn}`, `{ln}`) work too, so that its message texts move over unchanged; any other single
 * brace is left as written. Both are replaced in one pass, so a value is never read as a placeholder.
 */
export function renderTemplate(template: string, vars: CodeMessageVars): string {
  const values: Record<string, string> = {
    code: vars.code,
    pin: vars.code,
    minutes: String(vars.minutes),
    app: vars.app,
    fn: vars.fn ?? '',
    ln: vars.ln ?? '',
  };
  return template.replace(/\{\{\s*([A-Za-z_]+)\s*\}\}|\{(pin|fn|ln|code)\}/g, (_all, doubled: string | undefined, single: string | undefined) => {
    const name = doubled ?? single!;
    return Object.prototype.hasOwnProperty.call(values, name) ? (values[name] as string) : '';
  });
}

/** Minutes shown to the user: a code that lives 90 s "expires in 2 minutes", never in 1. */
export function ttlMinutes(ttlSeconds: number | undefined): number {
  return Math.max(1, Math.ceil((ttlSeconds ?? 600) / 60));
}
