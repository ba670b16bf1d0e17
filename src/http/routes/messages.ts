import { templateOf } from '../../domain/messages.js';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { describeMessage } from '../../domain/message-history.js';
import type { ServiceContext } from '../../services/context.js';
import { getMessage, listMessages, queueMessage, type QueueInput } from '../../services/dispatch/queue-message.js';
import { MESSAGE_STATUSES, type Message } from '../../storage/dispatch/outbox-store.js';
import { businessOf } from '../auth.js';
import { problem, sendProblem } from '../error-handler.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { errorResponses, IdParams, Nullable, PersonRefSchema, Timestamp, TopicKey } from '../schemas/common.js';

const Time = (description: string) =>
  Nullable(Type.Integer({ minimum: 0, description: `Epoch milliseconds. ${description}` }));

export const MessageSchema = Type.Object(
  {
    id: Type.String(),
    personId: Type.String(),
    topicId: Nullable(Type.String()),
    kind: Type.String(),
    status: Type.String(),
    notBefore: Timestamp,
    attempts: Type.Integer(),
    providerMessageId: Nullable(Type.String()),
    errorCode: Nullable(Type.String()),
    errorDetail: Nullable(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    sentAt: Nullable(Timestamp),
    claimedAt: Time('When the latest try was claimed by a worker.'),
    callStartedAt: Time('When its provider call started (marked atomically with the last consent re-check).'),
    callEndedAt: Time("When the provider's answer (or the call's failure) came back."),
    cancelledAt: Time('When it was cancelled; see cancelReason.'),
    cancelReason: Nullable(Type.String({ description: 'Why it was cancelled: OPTED_OUT, CONTACT_ERASED, DROPPED, …' })),
    statusText: Type.String({
      description: 'What happened to the message, derived from its status and the times above (never guessed).',
    }),
    template: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { $id: 'Message' },
);

const QueueBody = Type.Object(
  {
    person: PersonRefSchema,
    topic: TopicKey,
    template: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 512, description: 'An approved WhatsApp template' }),
        language: Type.String({ minLength: 2, maxLength: 15 }),
        bodyParams: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 20 })),
        buttonPayloads: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 10 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** A message as the API shows it: its row, and the status text derived from its times. */
export const messageView = (m: Message) => ({
  ...m,
  statusText: describeMessage(m.status, m),
  template: templateOf(m.payload) ?? undefined,
});

export const messageRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['messages'];
    app.post<{ Body: Omit<QueueInput, 'idempotencyKey'> }>(
      '/v1/messages',
      {
        schema: {
          tags,
          summary: 'Queue a notification through the send gate',
          description:
            'The gate decides and the message is queued in one transaction. 202: queued (or deferred by quiet hours/spacing, see notBefore). 422 SEND_REFUSED: every reason, with the events behind it. The worker checks the gate again just before sending. Idempotency-Key makes retries safe.',
          headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
          body: QueueBody,
          response: {
            202: Type.Object({
              outcome: Type.String(),
              replay: Type.Boolean(),
              message: Type.Ref('Message'),
              decision: Type.Ref('Decision'),
            }),
            ...errorResponses(409, 422),
          },
        },
      },
      async (req, reply) => {
        const key = req.headers['idempotency-key'];
        const r = await queueMessage(ctx, businessOf(req), {
          ...req.body,
          idempotencyKey: typeof key === 'string' ? key : undefined,
        });
        if (r.outcome === 'refused') {
          return sendProblem(
            reply,
            problem('SEND_REFUSED', `Refused: ${r.decision.reasons.map((x) => x.code).join(', ')}.`, req.id, [], {
              decision: r.decision,
            }),
          );
        }
        return reply
          .code(202)
          .send({ outcome: r.outcome, replay: r.replay, message: messageView(r.message), decision: r.decision });
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/messages/:id',
      {
        schema: {
          tags,
          summary: 'A message and its delivery status',
          params: IdParams,
          response: { 200: Type.Ref('Message'), ...errorResponses(404) },
        },
      },
      async (req) => messageView(await getMessage(ctx, businessOf(req), req.params.id)),
    );

    app.get<{ Querystring: { status?: string; personId?: string; cursor?: string; limit?: number } }>(
      '/v1/messages',
      {
        schema: {
          tags,
          summary: 'List messages, newest first',
          querystring: Type.Object(
            {
              status: Type.Optional(Type.Union(MESSAGE_STATUSES.map((s) => Type.Literal(s)))),
              personId: Type.Optional(Type.String({ maxLength: 64 })),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(Type.Ref('Message')), nextCursor: Nullable(Type.String()) }),
            ...errorResponses(),
          },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 50;
        const rows = await listMessages(ctx, businessOf(req), {
          after: decodeCursor(req.query.cursor),
          limit: limit + 1,
          status: req.query.status,
          personId: req.query.personId,
        });
        const data = rows.slice(0, limit);
        return {
          data: data.map(messageView),
          nextCursor: encodeCursor(data[data.length - 1]?.id, rows.length > limit),
        };
      },
    );
  };
