import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { decideBatch, decideSend } from '../../services/dispatch/decide-send.js';
import type { PersonRefInput } from '../../services/consent/person-ref.js';
import { businessOf } from '../auth.js';
import { errorResponses, Nullable, PersonRefSchema, Timestamp, TopicKey } from '../schemas/common.js';

export const ReasonSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  eventIds: Type.Array(Type.String()),
  until: Type.Optional(Timestamp),
  timezone: Type.Optional(Type.String({ description: "QUIET_HOURS: the zone the recipient's local time was read in" })),
  holiday: Type.Optional(
    Type.Object(
      { country: Type.String(), date: Type.String(), name: Type.String() },
      {
        description: 'QUIET_HOURS: the public holiday (local date) that holds the message',
      },
    ),
  ),
});
export const DecisionSchema = Type.Object(
  {
    outcome: Type.Union([Type.Literal('allow'), Type.Literal('defer'), Type.Literal('refuse')]),
    allowed: Type.Boolean(),
    reasons: Type.Array(ReasonSchema),
    notBefore: Nullable(Timestamp),
    personId: Nullable(Type.String()),
    topicId: Nullable(Type.String()),
    topic: Type.String(),
  },
  { $id: 'Decision' },
);
const DecisionBody = Type.Object({ person: PersonRefSchema, topic: TopicKey }, { additionalProperties: false });

export const decisionRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['send gate'];
    app.post<{ Body: { person: PersonRefInput; topic: string } }>(
      '/v1/decisions',
      {
        schema: {
          tags,
          summary: 'Ask the send gate (dry run): may this notification go to this person now?',
          description:
            'Returns every reason that applies, each with the consent events it rests on. Nothing is written.',
          body: DecisionBody,
          response: { 200: Type.Ref('Decision'), ...errorResponses(422) },
        },
      },
      async (req) => decideSend(ctx, businessOf(req), req.body),
    );

    app.post<{ Body: { items: { person: PersonRefInput; topic: string }[] } }>(
      '/v1/decisions/batch',
      {
        schema: {
          tags,
          summary: 'Ask the send gate for up to 500 recipients at once',
          body: Type.Object(
            { items: Type.Array(DecisionBody, { minItems: 1, maxItems: 500 }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({
                  ok: Type.Boolean(),
                  decision: Type.Optional(Type.Ref('Decision')),
                  code: Type.Optional(Type.String()),
                  field: Type.Optional(Type.String()),
                  message: Type.Optional(Type.String()),
                }),
              ),
            }),
            ...errorResponses(),
          },
        },
      },
      async (req) => ({ data: await decideBatch(ctx, businessOf(req), req.body.items) }),
    );
  };
