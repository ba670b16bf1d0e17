import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { getText, listTexts, namedIn, registerText } from '../../services/admin/manage-texts.js';
import { checkOptInText, textIsUsable } from '../../domain/consent/optin-text.js';
import { TEXT_CHANNELS, type TextChannel } from '../../domain/consent/text-channels.js';
import { getBusiness, getTopicsByKeys } from '../../storage/business/business-store.js';
import { actorOf, businessOf } from '../auth.js';
import { errorResponses, Timestamp, TopicKey } from '../schemas/common.js';

const CheckSchema = Type.Object({ rule: Type.String(), passed: Type.Boolean(), message: Type.String() });
export const TextSchema = Type.Object(
  {
    hash: Type.String(),
    name: Type.String(),
    version: Type.Integer(),
    language: Type.String(),
    body: Type.String(),
    topicKeys: Type.Array(Type.String()),
    checks: Type.Array(CheckSchema),
    usable: Type.Boolean(),
    createdAt: Timestamp,
    channels: Type.Array(Type.String(), {
      description: 'Where the text may be shown: web, app, whatsapp, sms, email, ivr',
    }),
  },
  { $id: 'ConsentText' },
);
const Channels = Type.Array(Type.Union(TEXT_CHANNELS.map((c) => Type.Literal(c))), {
  minItems: 1,
  maxItems: TEXT_CHANNELS.length,
  uniqueItems: true,
  description:
    'The channels the text may be shown on (default: the written ones, web, app, whatsapp, sms, email). A phone script is "ivr" only: it is never shown on a page.',
});
const TextBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 80, description: 'Texts with one name are versioned' }),
    language: Type.String({ minLength: 2, maxLength: 15 }),
    body: Type.String({ minLength: 1, maxLength: 4096, description: 'Exactly what the person is shown' }),
    topicKeys: Type.Array(TopicKey, { minItems: 1, maxItems: 50, uniqueItems: true }),
    channels: Type.Optional(Channels),
  },
  { additionalProperties: false },
);
type TextBodyT = { name: string; language: string; body: string; topicKeys: string[]; channels?: TextChannel[] };

export const textRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['opt-in texts'];
    app.post<{ Body: TextBodyT }>(
      '/v1/texts',
      {
        schema: {
          tags,
          summary: 'Register an opt-in text (stored once by content hash, checked against the policy)',
          description:
            'The response lists every check with a plain-words message. A text that fails a check is kept, marked unusable, and refused by opt-ins.',
          body: TextBody,
          response: { 201: Type.Ref('ConsentText'), ...errorResponses(422) },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await registerText(ctx, businessOf(req), { ...req.body, actor: actorOf(req) })),
    );
    app.post<{ Body: TextBodyT }>(
      '/v1/texts/check',
      {
        schema: {
          tags,
          summary: 'Check a text without storing it',
          body: TextBody,
          response: {
            200: Type.Object({ usable: Type.Boolean(), checks: Type.Array(CheckSchema) }),
            ...errorResponses(422),
          },
        },
      },
      async (req) => {
        const businessId = businessOf(req);
        const business = (await getBusiness(ctx.database.db, businessId))!;
        const topics = await getTopicsByKeys(ctx.database.db, businessId, req.body.topicKeys);
        const checks = checkOptInText({
          body: req.body.body,
          businessName: business.displayName,
          topics: namedIn(topics, req.body.language),
        });
        return { usable: textIsUsable(checks) && topics.length === req.body.topicKeys.length, checks };
      },
    );
    app.get(
      '/v1/texts',
      {
        schema: {
          tags,
          summary: 'List opt-in texts',
          response: { 200: Type.Object({ data: Type.Array(Type.Ref('ConsentText')) }), ...errorResponses() },
        },
      },
      async (req) => ({ data: await listTexts(ctx, businessOf(req)) }),
    );
    app.get<{ Params: { hash: string } }>(
      '/v1/texts/:hash',
      {
        schema: {
          tags,
          summary: 'Get an opt-in text by hash',
          params: Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
          response: { 200: Type.Ref('ConsentText'), ...errorResponses(404) },
        },
      },
      async (req) => getText(ctx, businessOf(req), req.params.hash),
    );
  };
