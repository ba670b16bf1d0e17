import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import {
  createEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  replayWebhookDeliveries,
  rotateWebhookSecret,
  updateWebhookEndpoint,
  type EndpointInput,
} from '../../services/webhooks-out/manage-endpoints.js';
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhooks/events.js';
import { businessOf } from '../auth.js';
import { errorResponses, IdParams, Nullable, Timestamp } from '../schemas/common.js';

const EventTypes = Type.Array(Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t))), {
  minItems: 1,
  maxItems: WEBHOOK_EVENT_TYPES.length,
  uniqueItems: true,
});

export const WebhookEndpointSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Nullable(Type.String()),
  eventTypes: Type.Array(Type.String()),
  includePhone: Type.Boolean({
    description: "Deliveries carry the person's E.164 number (data.phone); off by default",
  }),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String()),
  disabledAt: Nullable(Timestamp),
  consecutiveFailures: Type.Integer(),
  failingSince: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const WithSecret = Type.Intersect([
  WebhookEndpointSchema,
  Type.Object({
    secret: Type.String({
      description: 'The signing secret (whsec_…), shown only now; verify deliveries with a Standard Webhooks library',
    }),
  }),
]);

const Delivery = Type.Object({
  id: Type.String({ description: 'Also the webhook-id header: the same on every retry and replay' }),
  endpointId: Type.String(),
  eventType: Type.String(),
  sourceId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Timestamp),
  lastAttemptAt: Nullable(Timestamp),
  lastStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  createdAt: Timestamp,
  deliveredAt: Nullable(Timestamp),
});

const Url = Type.String({
  minLength: 8,
  maxLength: 2048,
  description: 'http(s) URL; private, loopback and link-local targets are refused',
});
const CreateBody = Type.Object(
  {
    url: Url,
    eventTypes: EventTypes,
    description: Type.Optional(Type.String({ maxLength: 500 })),
    enabled: Type.Optional(Type.Boolean()),
    includePhone: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    url: Type.Optional(Url),
    eventTypes: Type.Optional(EventTypes),
    description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
    enabled: Type.Optional(
      Type.Boolean({ description: 'true re-enables an endpoint that was disabled (and resets its failure count)' }),
    ),
    includePhone: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
const ReplayBody = Type.Object(
  {
    deliveryId: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    from: Type.Optional(
      Type.String({ format: 'date-time', description: 'Replay every delivery created at or after this time' }),
    ),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'and before this time' })),
  },
  { additionalProperties: false },
);
const DeliveriesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    before: Type.Optional(
      Type.String({ minLength: 1, maxLength: 120, description: 'Return deliveries with an id before this one' }),
    ),
  },
  { additionalProperties: false },
);

export const webhookEndpointRoutes =
  (ctx: ServiceContext, o: { allowPrivate: boolean }): FastifyPluginAsync =>
  async (app) => {
    const tags = ['webhook-endpoints'];
    app.post<{ Body: EndpointInput & { url: string; eventTypes: string[] } }>(
      '/v1/webhook-endpoints',
      {
        schema: {
          tags,
          summary: 'Register an endpoint for consent-change webhooks (the secret is shown once)',
          body: CreateBody,
          response: { 201: WithSecret, ...errorResponses(422) },
        },
      },
      async (req, reply) => reply.code(201).send(await createEndpoint(ctx, businessOf(req), req.body, o)),
    );
    app.get(
      '/v1/webhook-endpoints',
      {
        schema: {
          tags,
          summary: 'List webhook endpoints',
          response: { 200: Type.Object({ data: Type.Array(WebhookEndpointSchema) }), ...errorResponses() },
        },
      },
      async (req) => ({ data: await listWebhookEndpoints(ctx, businessOf(req)) }),
    );
    app.get<{ Params: { id: string } }>(
      '/v1/webhook-endpoints/:id',
      {
        schema: {
          tags,
          summary: 'Get a webhook endpoint',
          params: IdParams,
          response: { 200: WebhookEndpointSchema, ...errorResponses(404) },
        },
      },
      async (req) => getWebhookEndpoint(ctx, businessOf(req), req.params.id),
    );
    app.patch<{ Params: { id: string }; Body: EndpointInput }>(
      '/v1/webhook-endpoints/:id',
      {
        schema: {
          tags,
          summary: 'Change, disable or re-enable a webhook endpoint',
          params: IdParams,
          body: UpdateBody,
          response: { 200: WebhookEndpointSchema, ...errorResponses(404, 422) },
        },
      },
      async (req) => updateWebhookEndpoint(ctx, businessOf(req), req.params.id, req.body, o),
    );
    app.delete<{ Params: { id: string } }>(
      '/v1/webhook-endpoints/:id',
      {
        schema: {
          tags,
          summary: 'Delete a webhook endpoint and its delivery log',
          params: IdParams,
          response: { 204: Type.Null(), ...errorResponses(404) },
        },
      },
      async (req, reply) => {
        await deleteWebhookEndpoint(ctx, businessOf(req), req.params.id);
        return reply.code(204).send();
      },
    );
    app.post<{ Params: { id: string } }>(
      '/v1/webhook-endpoints/:id/rotate-secret',
      {
        schema: {
          tags,
          summary: 'Replace the signing secret (the new one is shown once)',
          params: IdParams,
          response: { 200: WithSecret, ...errorResponses(404) },
        },
      },
      async (req) => rotateWebhookSecret(ctx, businessOf(req), req.params.id),
    );
    app.get<{ Params: { id: string }; Querystring: { limit?: number; before?: string } }>(
      '/v1/webhook-endpoints/:id/deliveries',
      {
        schema: {
          tags,
          summary: 'The delivery log of an endpoint, newest first',
          params: IdParams,
          querystring: DeliveriesQuery,
          response: { 200: Type.Object({ data: Type.Array(Delivery) }), ...errorResponses(404) },
        },
      },
      async (req) => ({
        data: await listWebhookDeliveries(ctx, businessOf(req), req.params.id, req.query.limit ?? 50, req.query.before),
      }),
    );
    app.post<{ Params: { id: string }; Body: { deliveryId?: string; from?: string; to?: string } }>(
      '/v1/webhook-endpoints/:id/replay',
      {
        schema: {
          tags,
          summary: 'Send again one delivery, or every delivery created in a time range',
          params: IdParams,
          body: ReplayBody,
          response: { 202: Type.Object({ requeued: Type.Integer() }), ...errorResponses(404) },
        },
      },
      async (req, reply) =>
        reply.code(202).send(await replayWebhookDeliveries(ctx, businessOf(req), req.params.id, req.body)),
    );
  };
