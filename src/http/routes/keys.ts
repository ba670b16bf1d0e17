import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../services/admin/manage-keys.js';
import { permissionsOf, type Role } from '../../domain/access/roles.js';
import { actorOf, businessOf } from '../auth.js';
import { errorResponses, IdParams } from '../schemas/common.js';
import { CreateKeyBody, CreatedKeySchema, KeyInfoSchema, RoleSchema } from '../schemas/business.js';

export const MeSchema = Type.Object({
  businessId: Type.String(),
  keyId: Type.String(),
  role: RoleSchema,
  permissions: Type.Array(RoleSchema, {
    description: 'What this key may do: read, write, admin (see docs/errors.md, FORBIDDEN)',
  }),
});

export const keyRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['keys'];
    app.post<{ Body: { name: string; role?: Role } }>(
      '/v1/keys',
      {
        schema: {
          tags,
          summary: 'Create another API key for your business (shown once); role defaults to write',
          body: CreateKeyBody,
          response: { 201: CreatedKeySchema, ...errorResponses() },
        },
      },
      async (req, reply) => {
        const created = await createApiKey(ctx, {
          businessId: businessOf(req),
          name: req.body.name,
          role: req.body.role ?? 'write',
          actor: actorOf(req),
        });
        req.log.info({ actor: actorOf(req), keyId: created.info.id, role: created.info.role }, 'api key created');
        return reply.code(201).send(created);
      },
    );
    app.get(
      '/v1/keys',
      {
        schema: {
          tags,
          summary: "List your business's keys (never the keys themselves)",
          response: { 200: Type.Object({ data: Type.Array(KeyInfoSchema) }), ...errorResponses() },
        },
      },
      async (req) => ({ data: await listApiKeys(ctx, businessOf(req)) }),
    );
    app.delete<{ Params: { id: string } }>(
      '/v1/keys/:id',
      {
        schema: {
          tags,
          summary: 'Revoke a key (takes effect at once)',
          params: IdParams,
          response: { 200: KeyInfoSchema, ...errorResponses(404) },
        },
      },
      async (req) => {
        const k = await revokeApiKey(ctx, businessOf(req), req.params.id, actorOf(req));
        req.log.info({ actor: actorOf(req), keyId: k.id }, 'api key revoked');
        return k;
      },
    );
    app.get(
      '/v1/me',
      {
        schema: {
          tags,
          summary: 'The calling key: its business, role and permissions (what a console may show)',
          response: { 200: MeSchema, ...errorResponses() },
        },
      },
      async (req) => {
        const p = req.principal;
        if (!p || p.kind !== 'business') throw new Error('route without business auth');
        return { businessId: p.businessId, keyId: p.keyId, role: p.role, permissions: [...permissionsOf(p.role)] };
      },
    );
  };
