import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import {
  getWhatsAppChannel,
  putWhatsAppChannel,
  type WhatsAppChannelInput,
} from '../../services/admin/manage-whatsapp-channel.js';
import { listReview, resolveReviewItem, type ReviewResolution } from '../../services/admin/manage-review-items.js';
import type { PersonRefInput } from '../../services/consent/person-ref.js';
import { sendSupportReply } from '../../services/dispatch/queue-reply.js';
import { sendOptInPrompt, type OptInPromptInput } from '../../services/whatsapp/send-optin-prompt.js';
import type { ReviewItem } from '../../storage/whatsapp/review-store.js';
import { actorOf, businessOf } from '../auth.js';
import { decodeCursor, paginate } from '../pagination.js';
import { errorResponses, IdParams, Nullable, PersonRefSchema, TextHash, Timestamp } from '../schemas/common.js';

const Label = Type.String({ minLength: 1, maxLength: 20, description: 'WhatsApp shows at most 20 characters' });

const PromptBody = Type.Object(
  {
    person: PersonRefSchema,
    textHash: TextHash('A registered, usable opt-in text: it is the body of the prompt'),
    style: Type.Union([Type.Literal('buttons'), Type.Literal('list')], { default: 'buttons' }),
    buttonLabels: Type.Optional(
      Type.Object(
        { yes: Type.Optional(Label), no: Type.Optional(Label), list: Type.Optional(Label) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const ReplyBody = Type.Object(
  {
    person: PersonRefSchema,
    text: Type.String({ minLength: 1, maxLength: 4096 }),
  },
  { additionalProperties: false },
);

const Queued = Type.Object({
  messageId: Type.String(),
  personId: Type.String(),
  status: Type.String(),
  createdAt: Timestamp,
});

const ChannelBody = Type.Object(
  {
    phoneNumberId: Type.String({
      minLength: 1,
      maxLength: 64,
      description: "Meta's phone_number_id: webhooks are routed by it",
    }),
    wabaId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    displayPhoneNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    ratePerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    accessToken: Type.String({ minLength: 1, maxLength: 4096, description: 'Stored encrypted; never returned' }),
    appSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: "Your own Meta app's secret (webhook signatures); stored encrypted",
      }),
    ),
    verifyToken: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'For the webhook handshake; stored encrypted' }),
    ),
  },
  { additionalProperties: false },
);

const ChannelView = Type.Object({
  phoneNumberId: Type.String(),
  wabaId: Type.Optional(Type.String()),
  displayPhoneNumber: Type.Optional(Type.String()),
  ratePerSecond: Type.Optional(Type.Integer()),
  hasAccessToken: Type.Boolean(),
  hasAppSecret: Type.Boolean(),
  hasVerifyToken: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const ReviewItemSchema = Type.Object({
  id: Type.String(),
  personId: Nullable(Type.String()),
  sourceRef: Type.String(),
  reason: Type.String(),
  detail: Type.Object({}, { additionalProperties: true }),
  createdAt: Timestamp,
  resolvedAt: Nullable(Timestamp),
  resolution: Nullable(Type.String()),
});

const ResolveBody = Type.Object(
  {
    resolution: Type.Union([Type.Literal('opted_out'), Type.Literal('no_action')]),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** The chat side of WhatsApp for the business's systems and staff: prompts, support replies, the channel, review. */
export const whatsappChatRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['whatsapp'];

    app.post<{ Body: OptInPromptInput }>(
      '/v1/whatsapp/opt-in-prompts',
      {
        schema: {
          tags,
          summary: 'Ask for consent in the chat (buttons or a list under the opt-in text)',
          description:
            'Only inside the 24-hour window the person opened by writing (409 WINDOW_CLOSED otherwise). "Yes" records the opt-in with the tap as the active action and the text as shown; "No thanks" records nothing.',
          body: PromptBody,
          response: { 202: Queued, ...errorResponses(404, 409, 422) },
        },
      },
      async (req, reply) => {
        const m = await sendOptInPrompt(ctx, businessOf(req), req.body);
        return reply
          .code(202)
          .send({ messageId: m.id, personId: m.personId, status: m.status, createdAt: m.createdAt });
      },
    );

    app.post<{ Body: { person: PersonRefInput; text: string } }>(
      '/v1/replies',
      {
        schema: {
          tags,
          summary: 'Send a support reply (free text) inside the service window',
          description:
            'Support replies need no consent, only a message from the person in the last 24 hours (409 WINDOW_CLOSED otherwise). They are never notifications: use POST /v1/messages for those.',
          body: ReplyBody,
          response: { 202: Queued, ...errorResponses(409, 422) },
        },
      },
      async (req, reply) => {
        const m = await sendSupportReply(ctx, businessOf(req), req.body);
        return reply
          .code(202)
          .send({ messageId: m.id, personId: m.personId, status: m.status, createdAt: m.createdAt });
      },
    );

    app.put<{ Body: WhatsAppChannelInput }>(
      '/v1/channels/whatsapp',
      {
        schema: {
          tags,
          summary: 'Set the WhatsApp number and its credentials (secrets are stored encrypted, never returned)',
          body: ChannelBody,
          response: { 200: ChannelView, ...errorResponses(409) },
        },
      },
      async (req) => putWhatsAppChannel(ctx, businessOf(req), req.body),
    );

    app.get(
      '/v1/channels/whatsapp',
      {
        schema: {
          tags,
          summary: 'The WhatsApp number and which secrets are set',
          response: { 200: ChannelView, ...errorResponses(404) },
        },
      },
      async (req) => getWhatsAppChannel(ctx, businessOf(req)),
    );

    app.get<{ Querystring: { status?: 'open' | 'resolved' | 'all'; cursor?: string; limit?: number } }>(
      '/v1/review-items',
      {
        schema: {
          tags,
          summary:
            'Chat messages for staff to look at (a keyword inside a sentence, a changed number, Meta marketing resumed), newest first',
          querystring: Type.Object(
            {
              status: Type.Optional(
                Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')], { default: 'open' }),
              ),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(ReviewItemSchema), nextCursor: Nullable(Type.String()) }),
            ...errorResponses(),
          },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 50;
        const rows = await listReview(ctx, businessOf(req), {
          status: req.query.status ?? 'open',
          after: decodeCursor(req.query.cursor),
          limit: limit + 1,
        });
        return paginate<ReviewItem>(rows, limit);
      },
    );

    app.post<{ Params: { id: string }; Body: { resolution: ReviewResolution; note?: string } }>(
      '/v1/review-items/:id/resolve',
      {
        schema: {
          tags,
          summary: 'Resolve a review item: opt the person out of everything, or take no action',
          params: IdParams,
          body: ResolveBody,
          response: {
            200: Type.Object({ item: ReviewItemSchema, optOutEventId: Nullable(Type.String()) }),
            ...errorResponses(404, 409),
          },
        },
      },
      async (req) => resolveReviewItem(ctx, businessOf(req), req.params.id, { ...req.body, actor: actorOf(req) }),
    );
  };
