/**
 * Authenticator types by name, with aliases (`OTP`, `OTPAuthenticator` and `OTPValidator` are one type).
 * The configuration check refuses a type that is not registered here.
 */
export interface AuthenticatorTypeInfo<F = unknown> {
  /** The canonical name. */
  name: string;
  aliases: string[];
  /** JSON Schema of the type's `config` block, checked when the configuration is validated. */
  configSchema?: Record<string, unknown>;
  /** Builds the authenticator; filled in by the issue that implements the type. */
  factory?: F;
}

const types = new Map<string, AuthenticatorTypeInfo<any>>();

export function registerAuthenticatorType<F>(info: AuthenticatorTypeInfo<F>): void {
  for (const name of [info.name, ...info.aliases]) {
    const existing = types.get(name);
    if (existing && existing.name !== info.name) {
      throw new TypeError(`authenticator type name "${name}" is already taken by ${existing.name}`);
    }
    types.set(name, info);
  }
}

export function getAuthenticatorType<F = unknown>(name: string): AuthenticatorTypeInfo<F> | undefined {
  return types.get(name) as AuthenticatorTypeInfo<F> | undefined;
}

export function authenticatorTypeNames(): string[] {
  return [...types.keys()].sort();
}
