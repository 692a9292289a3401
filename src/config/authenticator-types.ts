/**
 * Authenticator types by name, with aliases (`OTP`, `OTPAuthenticator` and `OTPValidator` are one type). The
 * configuration check refuses a type that is not registered here, and checks a registered type's `config` block
 * against its `configSchema`. createAuthn serves the built-in types below; a host that registers a type of
 * its own gets its config checked and serves that authenticator itself (createAuthn warns that it does not).
 */
export interface AuthenticatorTypeInfo {
  /** The canonical name. */
  name: string;
  aliases: string[];
  /** JSON Schema of the type's `config` block, checked when the configuration is validated. */
  configSchema?: Record<string, unknown>;
}

const types = new Map<string, AuthenticatorTypeInfo>();

export function registerAuthenticatorType(info: AuthenticatorTypeInfo): void {
  for (const name of [info.name, ...info.aliases]) {
    const existing = types.get(name);
    if (existing && existing.name !== info.name) {
      throw new TypeError(`authenticator type name "${name}" is already taken by ${existing.name}`);
    }
    types.set(name, info);
  }
}

export function getAuthenticatorType(name: string): AuthenticatorTypeInfo | undefined {
  return types.get(name);
}

// The built-in types; their config shapes live in config/config.schema.json.
registerAuthenticatorType({ name: 'OTP', aliases: ['OTPAuthenticator', 'OTPValidator'] });
registerAuthenticatorType({ name: 'Chain', aliases: [] });
registerAuthenticatorType({ name: 'Selector', aliases: [] });
registerAuthenticatorType({ name: 'TotpEnroll', aliases: [] });
registerAuthenticatorType({ name: 'RecoveryCodes', aliases: [] });
registerAuthenticatorType({ name: 'UserNameAndPassword', aliases: [] });
