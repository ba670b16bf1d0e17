import type { FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { parseInboundMessage, parseVoiceCallback } from '../../channels/twilio/payload.js';
import type { TwilioParams } from '../../channels/twilio/signature.js';
import { messagingResponse, TWIML_CONTENT_TYPE, voiceScript } from '../../channels/twilio/twiml.js';
import type { ServiceContext } from '../../services/context.js';
import { handleSmsReply } from '../../services/capture/handle-sms-reply.js';
import { handleIvrChoice, startIvrCall } from '../../services/capture/handle-ivr-call.js';
import { problem, sendProblem } from '../error-handler.js';
import type { CaptureOptions } from '../capture-options.js';
import { verifiedTwilioBusiness } from '../twilio-webhooks-kit.js';

const ChoiceQuery = {
  type: 'object',
  properties: {
    attempt: { type: 'integer', minimum: 1, maximum: 5, default: 1 },
    text: { type: 'string', maxLength: 64, pattern: '^[0-9a-f]{64}$' },
    lang: { type: 'string', maxLength: 5, default: 'en' },
  },
  required: ['text'],
} as const;

/**
 * Twilio webhooks of the capture paths: inbound SMS (STOP, YES WA) and the IVR menu. Every request is checked
 * against X-Twilio-Signature before anything is read; replies are TwiML, on the channel the person used.
 */
export function twilioCaptureWebhooks(ctx: ServiceContext, opts: CaptureOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    // Twilio posts form-encoded bodies; repeated keys become arrays, which the signature check needs.
    await app.register(formbody, { bodyLimit: 64 * 1024 });
    const tags = ['webhooks'];

    app.post(
      '/webhooks/twilio/sms',
      {
        config: { auth: 'none' },
        schema: {
          tags,
          summary: 'Twilio inbound SMS: STOP opts out of WhatsApp, YES WA accepts an SMS invitation',
          security: [],
        },
      },
      async (req, reply) => {
        const businessId = await verifiedTwilioBusiness(ctx, opts.publicUrl, req, reply);
        if (!businessId) return reply;
        const parsed = parseInboundMessage((req.body ?? {}) as TwilioParams);
        if (!parsed.ok)
          return sendProblem(
            reply,
            problem('VALIDATION_FAILED', parsed.message, req.id, [{ field: parsed.field, message: parsed.message }]),
          );
        // A WhatsApp message through Twilio is not this endpoint's business: answer nothing rather than misread it.
        if (parsed.value.channel !== 'sms') return reply.type(TWIML_CONTENT_TYPE).send(messagingResponse());
        const out = await handleSmsReply(ctx, businessId, parsed.value);
        return reply.type(TWIML_CONTENT_TYPE).send(messagingResponse(out.reply ?? undefined));
      },
    );

    app.post(
      '/webhooks/twilio/voice',
      {
        config: { auth: 'none' },
        schema: { tags, summary: 'Twilio voice: the WhatsApp opt-in menu (1 opt in, 9 opt out)', security: [] },
      },
      async (req, reply) => {
        const businessId = await verifiedTwilioBusiness(ctx, opts.publicUrl, req, reply);
        if (!businessId) return reply;
        return reply.type(TWIML_CONTENT_TYPE).send(voiceScript(await startIvrCall(ctx, businessId, opts.publicUrl)));
      },
    );

    app.post<{ Querystring: { attempt: number; text: string; lang: string } }>(
      '/webhooks/twilio/voice/choice',
      {
        config: { auth: 'none' },
        schema: { tags, summary: 'Twilio voice: the digit pressed', security: [], querystring: ChoiceQuery },
      },
      async (req, reply) => {
        const businessId = await verifiedTwilioBusiness(ctx, opts.publicUrl, req, reply);
        if (!businessId) return reply;
        const parsed = parseVoiceCallback((req.body ?? {}) as TwilioParams);
        if (!parsed.ok)
          return sendProblem(
            reply,
            problem('VALIDATION_FAILED', parsed.message, req.id, [{ field: parsed.field, message: parsed.message }]),
          );
        const out = await handleIvrChoice(
          ctx,
          businessId,
          parsed.value,
          { attempt: req.query.attempt, textHash: req.query.text, lang: req.query.lang },
          opts.publicUrl,
        );
        return reply.type(TWIML_CONTENT_TYPE).send(voiceScript(out.script));
      },
    );
  };
}
