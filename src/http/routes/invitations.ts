import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { sendEmailInvitation } from '../../services/capture/send-email-invitation.js';
import { sendSmsInvitation } from '../../services/capture/send-sms-invitation.js';
import type { PersonRefInput } from '../../services/consent/person-ref.js';
import type { InvitationMode } from '../../storage/capture/invitation-store.js';
import { businessOf } from '../auth.js';
import { errorResponses, PersonRefSchema, TextHash, TopicKey } from '../schemas/common.js';
import { DAY_MS, type CaptureOptions } from '../capture-options.js';

const Topics = Type.Array(TopicKey, { minItems: 1, maxItems: 50, uniqueItems: true });
const TextHashField = TextHash('A usable registered opt-in text covering the topics; sent word for word');

/** POST /v1/sms/invitations and /v1/email/invitations (business key). */
export function invitationRoutes(ctx: ServiceContext, opts: CaptureOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    const tags = ['channels off WhatsApp'];

    app.post<{ Body: { person: PersonRefInput; topics: string[]; textHash: string; mode: InvitationMode } }>(
      '/v1/sms/invitations',
      {
        schema: {
          tags,
          summary: "Invite a person to WhatsApp messages by SMS (through the business's Twilio account)",
          description:
            'The SMS is the registered opt-in text followed by either "Reply YES WA to agree." (mode keyword) or a signed link to the hosted page (mode link). Nothing is recorded until the person replies or submits the page. Refused for a person who opted out of any of the topics.',
          body: Type.Object(
            {
              person: PersonRefSchema,
              topics: Topics,
              textHash: TextHashField,
              mode: Type.Union([Type.Literal('link'), Type.Literal('keyword')]),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({
              invitationId: Type.String(),
              messageSid: Type.String(),
              mode: Type.String(),
              body: Type.String(),
              expiresAt: Type.Integer(),
            }),
            ...errorResponses(404, 409, 422, 502),
          },
        },
      },
      async (req, reply) => {
        const r = await sendSmsInvitation(ctx, businessOf(req), req.body, {
          publicUrl: opts.publicUrl,
          ttlMs: opts.smsInvitationTtlMs ?? 30 * DAY_MS,
        });
        return reply.code(201).send(r);
      },
    );

    app.post<{ Body: { email: string; person?: PersonRefInput; topics: string[]; textHash: string } }>(
      '/v1/email/invitations',
      {
        schema: {
          tags,
          summary: 'Invite a person to WhatsApp messages by email',
          description:
            'Sends the registered opt-in text with a signed, single-use link to the hosted page (valid 7 days by default) and RFC 8058 one-click unsubscribe headers. The person still decides on the page.',
          body: Type.Object(
            {
              email: Type.String({ format: 'email', maxLength: 254 }),
              person: Type.Optional(PersonRefSchema),
              topics: Topics,
              textHash: TextHashField,
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ invitationId: Type.String(), messageId: Type.String(), expiresAt: Type.Integer() }),
            ...errorResponses(404, 409, 422, 502),
          },
        },
      },
      async (req, reply) => {
        const r = await sendEmailInvitation(ctx, businessOf(req), req.body, {
          publicUrl: opts.publicUrl,
          platformSmtp: opts.smtp,
          ttlMs: opts.emailLinkTtlMs ?? 7 * DAY_MS,
        });
        return reply.code(201).send(r);
      },
    );
  };
}
