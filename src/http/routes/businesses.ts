import type { FastifyPluginAsync } from 'fastify';
import type { Role } from '../../domain/access/roles.js';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { createBusiness, listBusinesses, updateBusiness } from '../../services/admin/manage-businesses.js';
import { createApiKey } from '../../services/admin/manage-keys.js';
import { getBusiness } from '../../storage/business/business-store.js';
import { fail } from '../../domain/errors.js';
import type { BusinessPolicy } from '../../domain/gate/policy.js';
import { actorOf, businessOf } from '../auth.js';
import { decodeCursor, paginate } from '../pagination.js';
import { errorResponses, IdParams, page, PageQuery } from '../schemas/common.js';
import {
  BusinessSchema,
  CreateBusinessBody,
  CreateKeyBody,
  CreatedKeySchema,
  UpdateBusinessBody,
} from '../schemas/business.js';

type Body<T> = { Body: T };

export const businessRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['businesses'];

    app.post<Body<{ slug: string; displayName: string; policy?: Partial<BusinessPolicy> }>>(
      '/v1/businesses',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Create a business (tenant)',
          body: CreateBusinessBody,
          response: { 201: Type.Ref('Business'), ...errorResponses(409) },
        },
      },
      async (req, reply) => reply.code(201).send(await createBusiness(ctx, req.body)),
    );

    app.get<{ Querystring: { cursor?: string; limit?: number } }>(
      '/v1/businesses',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'List businesses',
          querystring: PageQuery,
          response: { 200: page(Type.Ref('Business')), ...errorResponses() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 50;
        return paginate(await listBusinesses(ctx, { after: decodeCursor(req.query.cursor), limit: limit + 1 }), limit);
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/businesses/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Get a business',
          params: IdParams,
          response: { 200: Type.Ref('Business'), ...errorResponses(404) },
        },
      },
      async (req) =>
        (await getBusiness(ctx.database.db, req.params.id)) ?? fail('NOT_FOUND', 'No such business.', 'id'),
    );

    app.patch<{ Params: { id: string }; Body: { displayName?: string; policy?: Partial<BusinessPolicy> } }>(
      '/v1/businesses/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "Change a business's name or policy",
          params: IdParams,
          body: UpdateBusinessBody,
          response: { 200: Type.Ref('Business'), ...errorResponses(404) },
        },
      },
      async (req) => updateBusiness(ctx, req.params.id, req.body, actorOf(req)),
    );

    app.post<{ Params: { id: string }; Body: { name: string; role?: Role } }>(
      '/v1/businesses/:id/keys',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "Create a business's API key (shown once)",
          params: IdParams,
          body: CreateKeyBody,
          response: { 201: CreatedKeySchema, ...errorResponses(404) },
        },
      },
      async (req, reply) =>
        reply.code(201).send(
          await createApiKey(ctx, {
            businessId: req.params.id,
            name: req.body.name,
            role: req.body.role ?? 'admin',
            actor: actorOf(req),
          }),
        ),
    );

    app.get(
      '/v1/business',
      {
        schema: {
          tags,
          summary: 'The business of the calling key',
          response: { 200: Type.Ref('Business'), ...errorResponses() },
        },
      },
      async (req) => (await getBusiness(ctx.database.db, businessOf(req)))!,
    );

    app.patch<Body<{ displayName?: string; policy?: Partial<BusinessPolicy> }>>(
      '/v1/business',
      {
        schema: {
          tags,
          summary: "Change your business's name or policy",
          body: UpdateBusinessBody,
          response: { 200: Type.Ref('Business'), ...errorResponses() },
        },
      },
      async (req) => updateBusiness(ctx, businessOf(req), req.body, actorOf(req)),
    );
  };
