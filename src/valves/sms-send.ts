/**
 * SmsSend: delivers the code by SMS through an HTTP gateway (src/valves/http-gateway.ts). The text is the
 * `sms.code` message (locales/<lng>/messages.json) in the flow's language, optionally ending with the WebOTP
 * origin-bound line `@host #code`. With `on_failure: "continue"` a failed SMS does not fail the flow: it sets
 * `state.sms_failed` so a following VoiceCall (`exec_if: "state.sms_failed"`) can deliver the same code.
 */
import type { ValveDeps, ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { smsLength } from './gsm7.js';
import { createHttpGateway, guardDeliveryOnce, httpGatewaySchemaProperties, type HttpGatewayConfig } from './http-gateway.js';
import { checkedLanguages, codeMessageText, codeMessageValues, flowLanguage, otherChannelRequested, translatorFor, warnOnce, type Translate } from './message-catalogue.js';

export const DEFAULT_SMS_MESSAGE_KEY = 'sms.code';
/** The lengths assumed by the one-segment check made when the valve is built. */
export const SEGMENT_CHECK = { codeLength: 10, nameLength: 20, appLength: 20, hostLength: 30, minutes: '10' } as const;

export interface SmsSendConfig extends HttpGatewayConfig {
  message_key?: string;
  app_name?: string;
  webotp?: boolean;
  webotp_host?: string;
  on_failure?: 'fail' | 'continue';
}

const HOST = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

export const smsSendSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    ...httpGatewaySchemaProperties,
    message_key: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', description: 'Key of the text in the messages namespace (default sms.code).' },
    app_name: { type: 'string', description: "The {{app}} text (default: the authenticator's app name)." },
    webotp: { type: 'boolean', description: 'End the SMS with the origin-bound line "@host #code" (WebOTP autofill).' },
    webotp_host: { type: 'string', minLength: 1, maxLength: 253, description: 'Host of the WebOTP line (default: the request host).' },
    on_failure: { enum: ['fail', 'continue'], description: 'fail (default) or continue: set state.sms_failed and pass, for a fallback valve.' },
  },
};

/** The host of the WebOTP line: lower-cased, without a port; null when it is not a plain DNS name. */
export function webotpHost(raw: string | undefined): string | null {
  if (!raw) return null;
  const host = raw.trim().toLowerCase().replace(/:\d+$/, '');
  return host.length <= 253 && HOST.test(host) ? host : null;
}

export function webotpLine(host: string, code: string): string {
  return `@${host} #${code}`;
}

function appendWebotp(text: string, host: string, code: string): string {
  return `${text}\n\n${webotpLine(host, code)}`;
}

/** Warns when the longest rendering of the text cannot fit one segment in some configured language. */
function checkOneSegment(config: SmsSendConfig, deps: ValveDeps, translate: Translate, key: string): void {
  const code = '9'.repeat(SEGMENT_CHECK.codeLength);
  const values = {
    code,
    minutes: SEGMENT_CHECK.minutes,
    app: config.app_name ?? 'A'.repeat(SEGMENT_CHECK.appLength),
    fn: 'F'.repeat(SEGMENT_CHECK.nameLength),
    ln: 'L'.repeat(SEGMENT_CHECK.nameLength),
  };
  for (const lng of checkedLanguages(deps)) {
    let text = translate(lng, key, values);
    if (config.webotp) text = appendWebotp(text, config.webotp_host ?? 'h'.repeat(SEGMENT_CHECK.hostLength), code);
    const length = smsLength(text);
    if (length.segments > 1) {
      const assumed = [
        `a ${SEGMENT_CHECK.codeLength}-character code`,
        config.app_name === undefined ? `a ${SEGMENT_CHECK.appLength}-character app name` : null,
        `${SEGMENT_CHECK.nameLength}-character names`,
        config.webotp && config.webotp_host === undefined ? `a ${SEGMENT_CHECK.hostLength}-character WebOTP host` : null,
      ].filter((s) => s !== null);
      warnOnce(
        deps,
        `SmsSend: the "${lng}" text of ${key} can take ${length.units} ${length.encoding} characters with ${assumed.join(', ')}; ` +
          `one SMS segment holds ${length.singleSegment}, so it may go as ${length.segments} segments`,
      );
    }
  }
}

export const smsSend: ValveFactory<SmsSendConfig> = (config, deps) => {
  const gateway = createHttpGateway(config, 'SMS gateway');
  if (config.webotp_host !== undefined && webotpHost(config.webotp_host) === null) {
    throw new Error('webotp_host: not a plain host name');
  }
  const translate = translatorFor(deps);
  const key = config.message_key ?? DEFAULT_SMS_MESSAGE_KEY;
  checkOneSegment(config, deps, translate, key);

  return {
    async run(ctx) {
      const destination = ctx.state.destination;
      const code = ctx.state.code;
      if (!destination || destination.kind !== 'phone' || typeof destination.address !== 'string') {
        return failFlow(FlowReason.VALVE_ERROR, 'no phone number to send an SMS to');
      }
      if (!code || typeof code.value !== 'string') return failFlow(FlowReason.VALVE_ERROR, 'no code to deliver');
      // A call was asked for: a VoiceCall later in the pipe delivers (exec_if "exports.requested_channel == 'voice'").
      if (otherChannelRequested(ctx, 'sms')) return undefined;

      const refused = await guardDeliveryOnce(ctx);
      if (refused) return refused;

      const lang = flowLanguage(ctx);
      let text = codeMessageText(ctx, translate, key, codeMessageValues(ctx, code.value, config.app_name));
      if (config.webotp) {
        const host = webotpHost(config.webotp_host ?? ctx.request.host);
        if (host) text = appendWebotp(text, host, code.value);
      }
      const outcome = await gateway.send({ to: destination.address, text, code: code.value, lang });
      if (outcome.ok) {
        destination.channel = 'sms';
        ctx.state.delivered = { channel: 'sms', to: destination.address, at: deps.now() };
        return undefined;
      }
      if (config.on_failure === 'continue') {
        ctx.state['sms_failed'] = true;
        ctx.state['sms_failure'] = outcome.message;
        return undefined;
      }
      return failFlow(FlowReason.FAILED_TO_SEND, outcome.message);
    },
  };
};
