import { registerAuthenticatorType } from './type-registry.js';

/**
 * The names of the built-in authenticator types. Their config shapes live in config/config.schema.json;
 * the modules that implement them attach their factories to these entries.
 */
registerAuthenticatorType({ name: 'OTP', aliases: ['OTPAuthenticator', 'OTPValidator'] });
registerAuthenticatorType({ name: 'Chain', aliases: [] });
registerAuthenticatorType({ name: 'UserNameAndPassword', aliases: [] });
