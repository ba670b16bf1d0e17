import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { archiveTopic, createTopic, getTopic, listTopics, setTopicNames } from '../../services/admin/manage-topics.js';
import type { Category } from '../../domain/gate/policy.js';
import { actorOf, businessOf } from '../auth.js';
import { CategorySchema, errorResponses, IdParams, Nullable, Timestamp, TopicKey } from '../schemas/common.js';

const Names = Type.Record(Type.String({ maxLength: 15 }), Type.String({ minLength: 1, maxLength: 80 }), {
  maxProperties: 30,
  description:
    'The name in other languages, by language code ({"es": "actualizaciones de entrega"}); pages and texts in that language use it',
});

export const TopicSchema = Type.Object(
  {
    id: Type.String(),
    key: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    category: Type.String(),
    createdAt: Timestamp,
    archivedAt: Nullable(Timestamp),
    names: Type.Record(Type.String(), Type.String(), { description: 'The name in other languages' }),
  },
  { $id: 'Topic' },
);

const CreateTopicBody = Type.Object(
  {
    key: TopicKey,
    name: Type.String({
      minLength: 1,
      maxLength: 80,
      description: 'What people opt into, as opt-in texts must name it ("delivery updates")',
    }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    category: CategorySchema,
    names: Type.Optional(Names),
  },
  { additionalProperties: false },
);
type CreateBody = {
  key: string;
  name: string;
  description?: string;
  category: Category;
  names?: Record<string, string>;
};

export const topicRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['topics'];
    app.post<{ Body: CreateBody }>(
      '/v1/topics',
      {
        schema: {
          tags,
          summary: 'Create a topic (a type of message people opt into)',
          body: CreateTopicBody,
          response: { 201: Type.Ref('Topic'), ...errorResponses(409) },
        },
      },
      async (req, reply) => reply.code(201).send(await createTopic(ctx, businessOf(req), req.body, actorOf(req))),
    );
    app.get(
      '/v1/topics',
      {
        schema: {
          tags,
          summary: 'List topics',
          response: { 200: Type.Object({ data: Type.Array(Type.Ref('Topic')) }), ...errorResponses() },
        },
      },
      async (req) => ({ data: await listTopics(ctx.database.db, businessOf(req)) }),
    );
    app.get<{ Params: { id: string } }>(
      '/v1/topics/:id',
      {
        schema: {
          tags,
          summary: 'Get a topic by id or key',
          params: IdParams,
          response: { 200: Type.Ref('Topic'), ...errorResponses(404) },
        },
      },
      async (req) => getTopic(ctx, businessOf(req), req.params.id),
    );
    app.put<{ Params: { id: string }; Body: { names: Record<string, string> } }>(
      '/v1/topics/:id/names',
      {
        schema: {
          tags,
          summary: "Set a topic's names in other languages (replaces them)",
          description: 'A text registered in a language is checked against the topic names in that language.',
          params: IdParams,
          body: Type.Object({ names: Names }, { additionalProperties: false }),
          response: { 200: Type.Ref('Topic'), ...errorResponses(404) },
        },
      },
      async (req) => setTopicNames(ctx, businessOf(req), req.params.id, req.body.names, actorOf(req)),
    );
    app.delete<{ Params: { id: string } }>(
      '/v1/topics/:id',
      {
        schema: {
          tags,
          summary: 'Archive a topic (history is kept; no new opt-ins or sends)',
          params: IdParams,
          response: { 200: Type.Ref('Topic'), ...errorResponses(404) },
        },
      },
      async (req) => archiveTopic(ctx, businessOf(req), req.params.id, actorOf(req)),
    );
  };
