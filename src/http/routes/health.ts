import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { oldestPendingInboxAt } from '../../storage/whatsapp/inbox-lag.js';
import { problem, sendProblem } from '../error-handler.js';

/** The once-per-database loops this process may run (worker/lease.ts): whether it holds each lease now. */
export interface ProcessLeases {
  inboxProcessor?: { held(): boolean };
  housekeeping?: { held(): boolean };
}

const Ready = Type.Object({
  status: Type.Literal('ready'),
  database: Type.String(),
  inbox: Type.Object({
    lagMs: Type.Integer({ description: 'Age of the oldest webhook item not processed yet, in ms (0: none waiting)' }),
    processorLease: Type.Boolean({
      description: 'Whether this process holds the inbox processor lease (one per database)',
    }),
  }),
  housekeepingLease: Type.Boolean({
    description: 'Whether this process holds the housekeeping lease (one per database)',
  }),
});

export const healthRoutes =
  (ctx: ServiceContext, leases: ProcessLeases = {}): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/healthz',
      {
        config: { auth: 'none' },
        schema: {
          tags: ['health'],
          summary: 'Liveness: the process answers',
          security: [],
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { auth: 'none' },
        schema: {
          tags: ['health'],
          summary: 'Readiness: the database answers; the inbox lag and the leases this process holds',
          security: [],
          response: { 200: Ready, 503: Type.Ref('Problem') },
        },
      },
      async (req, reply) => {
        try {
          // The read is the database check too.
          const oldest = await oldestPendingInboxAt(ctx.database.db);
          return {
            status: 'ready' as const,
            database: ctx.database.dialect,
            inbox: {
              lagMs: oldest === null ? 0 : Math.max(0, ctx.clock.now() - oldest),
              processorLease: leases.inboxProcessor?.held() ?? false,
            },
            housekeepingLease: leases.housekeeping?.held() ?? false,
          };
        } catch {
          return sendProblem(reply, problem('NOT_READY', 'The database does not answer.', req.id));
        }
      },
    );
  };
