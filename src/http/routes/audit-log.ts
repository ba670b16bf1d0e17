import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { listAudit } from '../../storage/audit/audit-store.js';
import { businessOf } from '../auth.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { errorResponses, Nullable, Timestamp } from '../schemas/common.js';

const AuditEntrySchema = Type.Object({
  id: Type.String(),
  at: Timestamp,
  actor: Type.String({ description: '`key:<id>` of the API key that acted (the console uses one)' }),
  action: Type.String({
    description:
      'person.erase, review.resolve, message.resolve, key.create, key.revoke, topic.create, topic.names, text.register, business.update, proof.download, export.download',
  }),
  target: Nullable(Type.String()),
  detail: Type.Object({}, { additionalProperties: true }),
});

/** `GET /v1/audit-log`: every console / API admin action of the business, newest first, with the key that did it. */
export const auditLogRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    app.get<{ Querystring: { cursor?: string; limit?: number; action?: string } }>(
      '/v1/audit-log',
      {
        schema: {
          tags: ['audit'],
          summary: 'The audit log: every admin action with the key that did it, newest first',
          description:
            'Each row is written in the same transaction as its action. Filter by `action`; page with `cursor`.',
          querystring: Type.Object(
            {
              action: Type.Optional(Type.String({ maxLength: 40, pattern: '^[a-z.-]+$' })),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(AuditEntrySchema), nextCursor: Nullable(Type.String()) }),
            ...errorResponses(),
          },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 50;
        const before = decodeCursor(req.query.cursor);
        const rows = await listAudit(ctx.database.db, businessOf(req), {
          limit: limit + 1,
          ...(before ? { before } : {}),
          ...(req.query.action ? { action: req.query.action } : {}),
        });
        const data = rows.slice(0, limit);
        return { data, nextCursor: encodeCursor(data[data.length - 1]?.id, rows.length > limit) };
      },
    );
  };
