import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { getText, listTexts, registerText } from '../../services/manage-texts.js';
import { checkOptInText, textIsUsable } from '../../domain/optin-text.js';
import { getBusiness, getTopicsByKeys } from '../../storage/business-store.js';
import { businessOf } from '../auth.js';
import { errorResponses, Timestamp, TopicKey } from '../schemas/common.js';

const CheckSchema = Type.Object({ rule: Type.String(), passed: Type.Boolean(), message: Type.String() });
export const TextSchema = Type.Object({
  hash: Type.String(), name: Type.String(), version: Type.Integer(), language: Type.String(), body: Type.String(),
  topicKeys: Type.Array(Type.String()), checks: Type.Array(CheckSchema), usable: Type.Boolean(), createdAt: Timestamp,
}, { $id: 'ConsentText' });
const TextBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 80, description: 'Texts with one name are versioned' }),
  language: Type.String({ minLength: 2, maxLength: 15 }),
  body: Type.String({ minLength: 1, maxLength: 4096, description: 'Exactly what the person is shown' }),
  topicKeys: Type.Array(TopicKey, { minItems: 1, maxItems: 50, uniqueItems: true }),
}, { additionalProperties: false });

export const textRoutes = (ctx: ServiceContext): FastifyPluginAsync => async (app) => {
  const tags = ['opt-in texts'];
  app.post<{ Body: { name: string; language: string; body: string; topicKeys: string[] } }>('/v1/texts', {
    schema: {
      tags, summary: 'Register an opt-in text (stored once by content hash, checked against the policy)',
      description: 'The response lists every check with a plain-words message. A text that fails a check is kept, marked unusable, and refused by opt-ins.',
      body: TextBody, response: { 201: Type.Ref('ConsentText'), ...errorResponses(422) },
    },
  }, async (req, reply) => reply.code(201).send(await registerText(ctx, businessOf(req), req.body)));
  app.post<{ Body: { name: string; language: string; body: string; topicKeys: string[] } }>('/v1/texts/check', {
    schema: { tags, summary: 'Check a text without storing it', body: TextBody, response: { 200: Type.Object({ usable: Type.Boolean(), checks: Type.Array(CheckSchema) }), ...errorResponses(422) } },
  }, async (req) => {
    const businessId = businessOf(req);
    const business = (await getBusiness(ctx.database.db, businessId))!;
    const topics = await getTopicsByKeys(ctx.database.db, businessId, req.body.topicKeys);
    const checks = checkOptInText({ body: req.body.body, businessName: business.displayName, topics });
    return { usable: textIsUsable(checks) && topics.length === req.body.topicKeys.length, checks };
  });
  app.get('/v1/texts', {
    schema: { tags, summary: 'List opt-in texts', response: { 200: Type.Object({ data: Type.Array(Type.Ref('ConsentText')) }), ...errorResponses() } },
  }, async (req) => ({ data: await listTexts(ctx, businessOf(req)) }));
  app.get<{ Params: { hash: string } }>('/v1/texts/:hash', {
    schema: { tags, summary: 'Get an opt-in text by hash', params: Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) }), response: { 200: Type.Ref('ConsentText'), ...errorResponses(404) } },
  }, async (req) => getText(ctx, businessOf(req), req.params.hash));
};
