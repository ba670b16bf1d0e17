import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { archiveTopic, createTopic, getTopic, listTopics } from '../../services/admin/manage-topics.js';
import type { Category } from '../../domain/gate/policy.js';
import { businessOf } from '../auth.js';
import { CategorySchema, errorResponses, IdParams, Nullable, Timestamp, TopicKey } from '../schemas/common.js';

export const TopicSchema = Type.Object({
  id: Type.String(), key: Type.String(), name: Type.String(), description: Nullable(Type.String()),
  category: Type.String(), createdAt: Timestamp, archivedAt: Nullable(Timestamp),
}, { $id: 'Topic' });

const CreateTopicBody = Type.Object({
  key: TopicKey,
  name: Type.String({ minLength: 1, maxLength: 80, description: 'What people opt into, as opt-in texts must name it ("delivery updates")' }),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  category: CategorySchema,
}, { additionalProperties: false });

export const topicRoutes = (ctx: ServiceContext): FastifyPluginAsync => async (app) => {
  const tags = ['topics'];
  app.post<{ Body: { key: string; name: string; description?: string; category: Category } }>('/v1/topics', {
    schema: { tags, summary: 'Create a topic (a type of message people opt into)', body: CreateTopicBody, response: { 201: Type.Ref('Topic'), ...errorResponses(409) } },
  }, async (req, reply) => reply.code(201).send(await createTopic(ctx, businessOf(req), req.body)));
  app.get('/v1/topics', {
    schema: { tags, summary: 'List topics', response: { 200: Type.Object({ data: Type.Array(Type.Ref('Topic')) }), ...errorResponses() } },
  }, async (req) => ({ data: await listTopics(ctx.database.db, businessOf(req)) }));
  app.get<{ Params: { id: string } }>('/v1/topics/:id', {
    schema: { tags, summary: 'Get a topic by id or key', params: IdParams, response: { 200: Type.Ref('Topic'), ...errorResponses(404) } },
  }, async (req) => getTopic(ctx, businessOf(req), req.params.id));
  app.delete<{ Params: { id: string } }>('/v1/topics/:id', {
    schema: { tags, summary: 'Archive a topic (history is kept; no new opt-ins or sends)', params: IdParams, response: { 200: Type.Ref('Topic'), ...errorResponses(404) } },
  }, async (req) => archiveTopic(ctx, businessOf(req), req.params.id));
};
