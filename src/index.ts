/** The public API of otp-authenticator. */
import './valves/index.js';

export { loadConfig, ConfigError, formatProblem, type ConfigProblem } from './config/index.js';
export type * from './config/types.js';
export { createAuthn, createSessionMiddleware, type Authn, type AuthnOptions } from './assembly/create-authn.js';
export { STRATEGY_NAME, type AuthnUser } from './authn/passport-strategy.js';
export { registerValve } from './pipes/valve-registry.js';
export { guardDelivery } from './valves/delivery-guard.js';
export type { Valve, ValveFactory, ValveDeps, FlowContext, ValveResult, FlowFailure, Destination } from './pipes/types.js';
export { registerAuthenticatorType } from './config/authenticator-types.js';
export { OtpError, ERRORS, StoreUnavailableError, type ErrorCode } from './errors.js';
export { EVENTS, type EventId, type EventRecord } from './events/catalogue.js';
export { onEvent } from './events/bus.js';
export { startEventLog } from './events/logger.js';
export { MemoryTransactionStore } from './store/memory-store.js';
export { RedisTransactionStore, connectRedisStore } from './store/redis-store.js';
export { RedisRateLimits } from './limits/redis-rate-limits.js';
export { MemoryRateLimits } from './limits/memory-rate-limits.js';
export type { TransactionStore } from './store/types.js';
export { createDemoApp } from './demo/demo-app.js';
export { createOidcLogin, createOidcProvider, oidcConfiguration } from './integrations/oidc-provider.js';
export { redisOidcAdapter } from './store/redis-oidc-adapter.js';
