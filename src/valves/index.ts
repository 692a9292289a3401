/**
 * Registers the built-in valves. Importing this module is enough; `registerBuiltinValves` is there
 * for a host (or a test) that replaced one and wants the original back.
 */
import { registerValve } from '../pipes/valve-registry.js';
import { emailNormalize, emailNormalizeSchema } from './email-normalize.js';
import { exportsPut, exportsPutSchema } from './exports-put.js';
import { flowFail, flowFailSchema } from './flow-fail.js';
import { otpGenerate, otpGenerateSchema } from './otp-generate.js';
import { otpValidate, otpValidateSchema } from './otp-validate.js';
import { outbox, outboxSchema } from './outbox.js';
import { phoneNormalize, phoneNormalizeSchema } from './phone-normalize.js';
import { phonePolicy, phonePolicySchema } from './phone-policy.js';
import { userFileCheck, userFileCheckSchema } from './user-file-check.js';
import { smsSend, smsSendSchema } from './sms-send.js';
import { voiceCall, voiceCallSchema } from './voice-call.js';
import { emailSend, emailSendSchema } from './email-send.js';
import { totpValidate, totpValidateSchema } from './totp-validate.js';
import { recoveryCodeValidate, recoveryCodeValidateSchema } from './recovery-code-validate.js';

export const BUILTIN_VALVES = [
  'PhoneNormalize',
  'PhonePolicy',
  'EmailNormalize',
  'OtpGenerate',
  'OtpValidate',
  'Outbox',
  'FlowFail',
  'ExportsPut',
  'UserFileCheck',
  'SmsSend',
  'VoiceCall',
  'EmailSend',
  'TotpValidate',
  'RecoveryCodeValidate',
] as const;

export function registerBuiltinValves(): void {
  registerValve('PhoneNormalize', phoneNormalize, { configSchema: phoneNormalizeSchema });
  registerValve('PhonePolicy', phonePolicy, { configSchema: phonePolicySchema });
  registerValve('EmailNormalize', emailNormalize, { configSchema: emailNormalizeSchema });
  registerValve('OtpGenerate', otpGenerate, { configSchema: otpGenerateSchema });
  registerValve('OtpValidate', otpValidate, { configSchema: otpValidateSchema });
  registerValve('Outbox', outbox, { configSchema: outboxSchema });
  registerValve('FlowFail', flowFail, { configSchema: flowFailSchema });
  registerValve('ExportsPut', exportsPut, { configSchema: exportsPutSchema });
  registerValve('UserFileCheck', userFileCheck, { configSchema: userFileCheckSchema });
  registerValve('SmsSend', smsSend, { configSchema: smsSendSchema });
  registerValve('VoiceCall', voiceCall, { configSchema: voiceCallSchema });
  registerValve('EmailSend', emailSend, { configSchema: emailSendSchema });
  registerValve('TotpValidate', totpValidate, { configSchema: totpValidateSchema });
  registerValve('RecoveryCodeValidate', recoveryCodeValidate, { configSchema: recoveryCodeValidateSchema });
}

registerBuiltinValves();

export { generateCode, checkCodePolicy, CODE_ALPHABETS, CODE_LENGTHS } from './otp-generate.js';
export { normaliseEmail } from './email-normalize.js';
export { lineTypeWord } from './phone-normalize.js';
export { outboxFile, DEFAULT_OUTBOX_FILE } from './outbox.js';
export { hashPassword, verifyPassword, parsePasswordHash } from './password-hash.js';
