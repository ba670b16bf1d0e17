import { sql } from 'kysely';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { verifyChains } from '../../services/consent/person-history.js';
import { parseJson } from '../../storage/json.js';
import { businessOf } from '../auth.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { errorResponses, Nullable } from '../schemas/common.js';

export const ledgerRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['ledger'];
    app.get<{
      Querystring: {
        cursor?: string;
        limit?: number;
        type?: string;
        channel?: string;
        topic?: string;
        from?: number;
        to?: number;
      };
    }>(
      '/v1/events',
      {
        schema: {
          tags,
          summary: "The business's consent ledger, newest first",
          description:
            'Filters combine: `type`, `channel`, `topic` (events naming it, and those for every topic), `from`/`to` (epoch ms of occurredAt; `to` exclusive).',
          querystring: Type.Object(
            {
              type: Type.Optional(Type.String({ maxLength: 32 })),
              channel: Type.Optional(Type.String({ maxLength: 32 })),
              topic: Type.Optional(Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' })),
              from: Type.Optional(Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 })),
              to: Type.Optional(Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 })),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              data: Type.Array(Type.Object({}, { additionalProperties: true })),
              nextCursor: Nullable(Type.String()),
            }),
            ...errorResponses(),
          },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 50;
        let q = ctx.database.db
          .selectFrom('consent_events')
          .selectAll()
          .where('business_id', '=', businessOf(req))
          .orderBy('id', 'desc')
          .limit(limit + 1);
        const after = decodeCursor(req.query.cursor);
        if (after) q = q.where('id', '<', after);
        if (req.query.type) q = q.where('type', '=', req.query.type);
        if (req.query.channel) q = q.where('channel', '=', req.query.channel);
        if (req.query.from !== undefined) q = q.where('occurred_at', '>=', req.query.from);
        if (req.query.to !== undefined) q = q.where('occurred_at', '<', req.query.to);
        if (req.query.topic) {
          const like = `%${JSON.stringify(req.query.topic).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
          q = q.where((eb) => eb.or([eb('scope', '=', 'all'), sql<boolean>`topic_keys like ${like} escape '\\'`]));
        }
        const rows = await q.execute();
        const data = rows.slice(0, limit).map((r) => ({
          id: r.id,
          personId: r.person_id,
          seq: Number(r.seq),
          type: r.type,
          scope: r.scope,
          topics: parseJson<string[]>(r.topic_keys, []),
          channel: r.channel,
          action: r.action,
          textHash: r.text_hash,
          occurredAt: Number(r.occurred_at),
          recordedAt: Number(r.recorded_at),
          actor: r.actor,
          hash: r.hash,
        }));
        return { data, nextCursor: encodeCursor(data[data.length - 1]?.id, rows.length > limit) };
      },
    );

    app.get(
      '/v1/ledger/verify',
      {
        schema: {
          tags,
          summary: "Verify the hash chain of every person of the business and the business's seals",
          response: {
            200: Type.Object({
              ok: Type.Boolean(),
              people: Type.Integer(),
              events: Type.Integer(),
              problems: Type.Array(
                Type.Object({
                  businessId: Type.String(),
                  personId: Nullable(Type.String()),
                  eventId: Nullable(Type.String()),
                  seq: Nullable(Type.Integer()),
                  problem: Type.String(),
                }),
              ),
              warnings: Type.Array(Type.String()),
            }),
            ...errorResponses(),
          },
        },
      },
      async (req) =>
        verifyChains(ctx.database.db, ctx.keyring.ledger, { businessId: businessOf(req), now: ctx.clock.now() }),
    );
  };
