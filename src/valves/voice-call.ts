/**
 * VoiceCall: delivers the code by a voice call through an HTTP gateway (src/valves/http-gateway.ts). The text is
 * the `voice.code` message in the flow's language, with the code read character by character ("1, 2, 3, 4, 5,
 * 6"); the gateway's text-to-speech reads it. Used alone for landlines, or behind a failed SmsSend
 * (`exec_if: "state.sms_failed"`) as the fallback channel. A failed call always fails the flow: the last chance
 * of a fallback chain must not let a flow end "sent" with nothing delivered.
 */
import type { ValveFactory } from '../pipes/types.js';
import { FlowReason, failFlow } from '../pipes/reasons.js';
import { createHttpGateway, guardDeliveryOnce, httpGatewaySchemaProperties, type HttpGatewayConfig } from './http-gateway.js';
import { codeMessageText, codeMessageValues, flowLanguage, otherChannelRequested, translatorFor } from './message-catalogue.js';

export const DEFAULT_VOICE_MESSAGE_KEY = 'voice.code';

export interface VoiceCallConfig extends HttpGatewayConfig {
  message_key?: string;
  app_name?: string;
}

export const voiceCallSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    ...httpGatewaySchemaProperties,
    message_key: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', description: 'Key of the spoken text in the messages namespace (default voice.code).' },
    app_name: { type: 'string', description: "The {{app}} text (default: the authenticator's app name)." },
  },
};

/** "123456" reads as "1, 2, 3, 4, 5, 6": a speech engine says each character instead of a number. */
export function spokenCode(code: string): string {
  return [...code].join(', ');
}

export const voiceCall: ValveFactory<VoiceCallConfig> = (config, deps) => {
  const gateway = createHttpGateway(config, 'voice gateway');
  const translate = translatorFor(deps);
  const key = config.message_key ?? DEFAULT_VOICE_MESSAGE_KEY;

  return {
    async run(ctx) {
      const destination = ctx.state.destination;
      const code = ctx.state.code;
      if (!destination || destination.kind !== 'phone' || typeof destination.address !== 'string') {
        return failFlow(FlowReason.VALVE_ERROR, 'no phone number to call');
      }
      if (!code || typeof code.value !== 'string') return failFlow(FlowReason.VALVE_ERROR, 'no code to deliver');
      // An SMS was asked for: no call, not even as the fallback of a failed SmsSend.
      if (otherChannelRequested(ctx, 'voice')) return undefined;

      const refused = await guardDeliveryOnce(ctx);
      if (refused) return refused;

      const lang = flowLanguage(ctx);
      const text = codeMessageText(ctx, translate, key, { ...codeMessageValues(ctx, code.value, config.app_name), code: spokenCode(code.value) });
      const outcome = await gateway.send({ to: destination.address, text, code: code.value, lang });
      if (!outcome.ok) return failFlow(FlowReason.FAILED_TO_SEND, outcome.message);
      destination.channel = 'voice';
      ctx.state.delivered = { channel: 'voice', to: destination.address, at: deps.now() };
      return undefined;
    },
  };
};
