import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../services/admin/manage-keys.js';
import { actorOf, businessOf } from '../auth.js';
import { errorResponses, IdParams } from '../schemas/common.js';
import { CreateKeyBody, CreatedKeySchema, KeyInfoSchema } from '../schemas/business.js';

export const keyRoutes = (ctx: ServiceContext): FastifyPluginAsync => async (app) => {
  const tags = ['keys'];
  app.post<{ Body: { name: string } }>('/v1/keys', {
    schema: { tags, summary: 'Create another API key for your business (shown once)', body: CreateKeyBody, response: { 201: CreatedKeySchema, ...errorResponses() } },
  }, async (req, reply) => {
    req.log.info({ actor: actorOf(req) }, 'api key created');
    return reply.code(201).send(await createApiKey(ctx, { businessId: businessOf(req), name: req.body.name }));
  });
  app.get('/v1/keys', {
    schema: { tags, summary: "List your business's keys (never the keys themselves)", response: { 200: Type.Object({ data: Type.Array(KeyInfoSchema) }), ...errorResponses() } },
  }, async (req) => ({ data: await listApiKeys(ctx, businessOf(req)) }));
  app.delete<{ Params: { id: string } }>('/v1/keys/:id', {
    schema: { tags, summary: 'Revoke a key (takes effect at once)', params: IdParams, response: { 200: KeyInfoSchema, ...errorResponses(404) } },
  }, async (req) => revokeApiKey(ctx, businessOf(req), req.params.id));
};
