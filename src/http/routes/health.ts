import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { ServiceContext } from '../../services/context.js';
import { problem, sendProblem } from '../error-handler.js';

export const healthRoutes = (ctx: ServiceContext): FastifyPluginAsync => async (app) => {
  app.get('/healthz', {
    config: { auth: 'none' },
    schema: { tags: ['health'], summary: 'Liveness: the process answers', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { auth: 'none' },
    schema: {
      tags: ['health'], summary: 'Readiness: the database answers', security: [],
      response: { 200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }), 503: Type.Ref('Problem') },
    },
  }, async (req, reply) => {
    try {
      await sql`select 1`.execute(ctx.database.db);
      return { status: 'ready' as const, database: ctx.database.dialect };
    } catch {
      return sendProblem(reply, problem('NOT_READY', 'The database does not answer.', req.id));
    }
  });
};
