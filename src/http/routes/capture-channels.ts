import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import {
  configureSmtp,
  configureTwilio,
  readCaptureSettings,
  updateCaptureSettings,
} from '../../services/capture/configure-channels.js';
import type { CaptureSettings } from '../../storage/capture/capture-settings-store.js';
import { businessOf } from '../auth.js';
import { errorResponses, Nullable } from '../schemas/common.js';
import type { CaptureOptions } from '../capture-options.js';

const Sid = (prefix: string) => Type.String({ maxLength: 66, pattern: `^${prefix}[A-Za-z0-9]{2,64}$` });

const TwilioBody = Type.Object(
  {
    accountSid: Sid('AC'),
    authToken: Type.String({ minLength: 8, maxLength: 200 }),
    from: Type.Optional(
      Type.String({
        minLength: 4,
        maxLength: 40,
        description: 'The Twilio number (SMS sender; where replies and calls arrive)',
      }),
    ),
    messagingServiceSid: Type.Optional(Sid('MG')),
    webhookSharedKeys: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.String({ minLength: 8, maxLength: 200 }), {
        maxProperties: 10,
        description: 'Webhook Rules: key id -> SharedKey, for SHA-256 signatures',
      }),
    ),
  },
  { additionalProperties: false },
);

const SettingsSchema = Type.Object({
  ownershipCheck: Type.Boolean({
    description:
      'Hosted-page opt-ins wait until the person sends a code from the typed number on WhatsApp (default true)',
  }),
  defaultCountry: Nullable(Type.String({ maxLength: 2, pattern: '^[A-Z]{2}$' })),
  whatsappNumber: Nullable(
    Type.String({ maxLength: 40, description: 'Where the code is sent; default: the WhatsApp channel display number' }),
  ),
});

/** Channel credentials and settings of the capture paths off WhatsApp (business key). */
export function captureChannelRoutes(ctx: ServiceContext, opts: CaptureOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    const tags = ['channels off WhatsApp'];
    app.put<{
      Body: {
        accountSid: string;
        authToken: string;
        from?: string;
        messagingServiceSid?: string;
        webhookSharedKeys?: Record<string, string>;
      };
    }>(
      '/v1/channels/twilio',
      {
        schema: {
          tags,
          summary: "Set the business's Twilio account (SMS invitations, SMS STOP, IVR)",
          description:
            "The auth token is sealed under the master key and never returned. Point the number's SMS webhook at `webhooks.sms` and its voice webhook at `webhooks.voice`.",
          body: TwilioBody,
          response: {
            200: Type.Object({
              provider: Type.Literal('twilio'),
              accountSid: Type.String(),
              from: Nullable(Type.String()),
              messagingServiceSid: Nullable(Type.String()),
              webhooks: Type.Object({ sms: Type.String(), voice: Type.String() }),
            }),
            ...errorResponses(409, 422),
          },
        },
      },
      async (req) => {
        const s = await configureTwilio(ctx, businessOf(req), req.body);
        return {
          provider: 'twilio' as const,
          ...s,
          webhooks: { sms: `${opts.publicUrl}/webhooks/twilio/sms`, voice: `${opts.publicUrl}/webhooks/twilio/voice` },
        };
      },
    );

    app.put<{ Body: { url: string; from: string } }>(
      '/v1/channels/smtp',
      {
        schema: {
          tags,
          summary: "Set the business's own SMTP server for invitation emails (else the platform's)",
          body: Type.Object(
            {
              url: Type.String({ minLength: 8, maxLength: 500, description: 'smtp://user:pass@host:587 or smtps://…' }),
              from: Type.String({ minLength: 3, maxLength: 200 }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ provider: Type.Literal('smtp'), from: Type.String() }),
            ...errorResponses(422),
          },
        },
      },
      async (req) => ({ provider: 'smtp' as const, ...(await configureSmtp(ctx, businessOf(req), req.body)) }),
    );

    app.get(
      '/v1/capture-settings',
      {
        schema: {
          tags,
          summary: 'Settings of the hosted page and other capture paths',
          response: { 200: SettingsSchema, ...errorResponses() },
        },
      },
      async (req) => readCaptureSettings(ctx, businessOf(req)),
    );

    app.put<{ Body: Partial<CaptureSettings> }>(
      '/v1/capture-settings',
      {
        schema: {
          tags,
          summary: 'Change capture settings (fields left out keep their value)',
          body: Type.Partial(SettingsSchema, { additionalProperties: false }),
          response: { 200: SettingsSchema, ...errorResponses(422) },
        },
      },
      async (req) => updateCaptureSettings(ctx, businessOf(req), req.body),
    );
  };
}
