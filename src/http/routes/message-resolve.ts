import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { resolveMessage, type ResolveAction } from '../../services/dispatch/resolve-message.js';
import { actorOf, businessOf } from '../auth.js';
import { errorResponses, IdParams } from '../schemas/common.js';
import { messageView } from './messages.js';

/** `POST /v1/messages/:id/resolve`: an operator settles a message whose outcome is unknown. */
export const messageResolveRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    app.post<{ Params: { id: string }; Body: { action: ResolveAction } }>(
      '/v1/messages/:id/resolve',
      {
        schema: {
          tags: ['messages'],
          summary: 'Retry or drop a message whose outcome is unknown',
          description:
            'A message is `unknown` when the worker sending it stopped before recording what Meta answered (errorCode IN_FLIGHT_AT_CRASH), ' +
            'and no status webhook has told us since. It may or may not have been delivered. `retry` queues it again only if the send gate ' +
            'still allows it now (outcome `queued` or `deferred`; otherwise `refused` or `cancelled` with the reasons); the person may then ' +
            'get it twice. `drop` gives it up (status `cancelled`, errorCode DROPPED). 409 CONFLICT when the message is not `unknown`.',
          params: IdParams,
          body: Type.Object(
            { action: Type.Union([Type.Literal('retry'), Type.Literal('drop')]) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              outcome: Type.Union(
                ['queued', 'deferred', 'refused', 'cancelled', 'dropped'].map((o) => Type.Literal(o)),
              ),
              reasons: Type.Array(Type.String()),
              message: Type.Ref('Message'),
            }),
            ...errorResponses(404, 409),
          },
        },
      },
      async (req) => {
        const r = await resolveMessage(ctx, businessOf(req), req.params.id, req.body.action, actorOf(req));
        return { outcome: r.outcome, reasons: r.reasons, message: messageView(r.message) };
      },
    );
  };
