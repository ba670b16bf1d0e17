import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { getPersonOrFail, personEvents, toPerson } from '../../services/consent/person-history.js';
import { exportProof } from '../../services/consent/export-proof.js';
import { erasePerson } from '../../services/consent/erase-person.js';
import { resolvePersonRef } from '../../services/consent/person-ref.js';
import { readPeopleSearch } from '../../services/consent/search-people.js';
import { mintPreferenceLink } from '../../services/consent/mint-preference-link.js';
import { writeAudit } from '../../storage/audit/audit-store.js';
import { actorOf, businessOf } from '../auth.js';
import { decodeCursor, paginate } from '../pagination.js';
import { errorResponses, IdParams, Nullable, page, Timestamp } from '../schemas/common.js';

export const PersonSchema = Type.Object(
  {
    id: Type.String(),
    phone: Nullable(Type.String()),
    waId: Nullable(Type.String()),
    bsuid: Nullable(Type.String()),
    country: Nullable(Type.String()),
    language: Nullable(Type.String()),
    timezone: Nullable(Type.String()),
    createdAt: Timestamp,
    erasedAt: Nullable(Timestamp),
    lastInboundAt: Nullable(Timestamp),
    unreachableAt: Nullable(Timestamp),
    eventCount: Type.Integer(),
  },
  { $id: 'Person' },
);
const StateSchema = Type.Object({
  topic: Type.String(),
  status: Type.String(),
  decidedAt: Timestamp,
  eventId: Type.String(),
});
export const EventSchema = Type.Object(
  {
    id: Type.String(),
    seq: Type.Integer(),
    type: Type.String(),
    scope: Type.String(),
    topics: Type.Array(Type.String()),
    channel: Type.String(),
    action: Type.String(),
    textHash: Nullable(Type.String()),
    occurredAt: Timestamp,
    recordedAt: Timestamp,
    sourceRef: Nullable(Type.String()),
    actor: Type.String(),
    evidence: Nullable(Type.Object({}, { additionalProperties: true })),
    evidenceHash: Type.String(),
    prevHash: Nullable(Type.String()),
    hash: Type.String(),
  },
  { $id: 'ConsentEvent' },
);

export const peopleRoutes =
  (ctx: ServiceContext, opts: { publicUrl?: string } = {}): FastifyPluginAsync =>
  async (app) => {
    const tags = ['people'];
    const db = ctx.database.db;

    app.get<{ Querystring: { phone?: string; q?: string; country?: string; cursor?: string; limit?: number } }>(
      '/v1/people',
      {
        schema: {
          tags,
          summary: 'List people, look one up by phone, or search by any form of number or id',
          description:
            '`phone` is one exact number (international, or national with `country`; 422 INVALID_PHONE otherwise). `q` searches: a person id, ' +
            "a number in any format (a national one is read with `country`, else the business's default country from its capture settings), a WhatsApp id or a business-scoped user id; " +
            'it never fails for a string that is no number, it finds nobody.',
          querystring: Type.Object(
            {
              phone: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
              q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              country: Type.Optional(
                Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO country for national-format numbers' }),
              ),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: page(Type.Ref('Person')), ...errorResponses(422) },
        },
      },
      async (req) => {
        const businessId = businessOf(req);
        const limit = req.query.limit ?? 50;
        let q = db
          .selectFrom('people')
          .selectAll()
          .where('business_id', '=', businessId)
          .orderBy('id')
          .limit(limit + 1);
        if (req.query.phone)
          q = q.where(
            'phone_e164',
            '=',
            resolvePersonRef(
              { phone: req.query.phone, ...(req.query.country ? { defaultCountry: req.query.country } : {}) },
              'querystring.phone',
            ).key.phone!,
          );
        if (req.query.q) {
          const s = await readPeopleSearch(db, businessId, req.query.q, req.query.country);
          q = q.where((eb) =>
            eb.or([
              eb('id', '=', s.personId),
              eb('bsuid', '=', s.bsuid),
              ...(s.phones.length ? [eb('phone_e164', 'in', s.phones)] : []),
              ...(s.waIds.length ? [eb('wa_id', 'in', s.waIds)] : []),
            ]),
          );
        }
        const after = decodeCursor(req.query.cursor);
        if (after) q = q.where('id', '>', after);
        return paginate((await q.execute()).map(toPerson), limit);
      },
    );

    app.post<{ Params: { id: string } }>(
      '/v1/people/:id/preference-link',
      {
        schema: {
          tags,
          summary: "Mint a signed link to the person's preference page (no login; it expires)",
          params: IdParams,
          description:
            'The link opens the hosted preference page for this person; every change made through it records the token id as evidence. 409 PERSON_ERASED for an erased person.',
          response: {
            201: Type.Object({
              url: Type.String(),
              path: Type.String(),
              token: Type.String(),
              tokenId: Type.String(),
              expiresAt: Timestamp,
            }),
            ...errorResponses(404, 409),
          },
        },
      },
      async (req, reply) => {
        const l = await mintPreferenceLink(
          ctx,
          businessOf(req),
          req.params.id,
          opts.publicUrl ? { publicUrl: opts.publicUrl } : {},
        );
        return reply
          .code(201)
          .send({ url: l.url, path: l.path, token: l.token, tokenId: l.tokenId, expiresAt: l.expiresAt });
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/people/:id',
      {
        schema: {
          tags,
          summary: 'A person and their consent per topic',
          params: IdParams,
          response: {
            200: Type.Object({ person: Type.Ref('Person'), consent: Type.Array(StateSchema) }),
            ...errorResponses(404),
          },
        },
      },
      async (req) => {
        const businessId = businessOf(req);
        const p = await getPersonOrFail(db, businessId, req.params.id);
        const state = await db
          .selectFrom('consent_state as s')
          .innerJoin('topics as t', (j) =>
            j.onRef('t.business_id', '=', 's.business_id').onRef('t.id', '=', 's.topic_id'),
          )
          .select(['t.key', 's.status', 's.decided_at', 's.event_id'])
          .where('s.business_id', '=', businessId)
          .where('s.person_id', '=', p.id)
          .orderBy('t.key')
          .execute();
        return {
          person: toPerson(p),
          consent: state.map((s) => ({
            topic: s.key,
            status: s.status,
            decidedAt: Number(s.decided_at),
            eventId: s.event_id,
          })),
        };
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/people/:id/events',
      {
        schema: {
          tags,
          summary: "A person's consent history, oldest first, with evidence",
          params: IdParams,
          response: { 200: Type.Object({ data: Type.Array(Type.Ref('ConsentEvent')) }), ...errorResponses(404) },
        },
      },
      async (req) => {
        const businessId = businessOf(req);
        await getPersonOrFail(db, businessId, req.params.id);
        return { data: await personEvents(db, businessId, req.params.id) };
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/people/:id/proof',
      {
        schema: {
          tags,
          summary: 'Proof export: every event, its evidence, the texts shown and the chain verification',
          params: IdParams,
          response: { 200: Type.Object({}, { additionalProperties: true }), ...errorResponses(404) },
        },
      },
      async (req, reply) => {
        const proof = await exportProof(ctx, businessOf(req), req.params.id);
        // A read: the row is written once the proof exists (an unknown person is a 404 and no row).
        await writeAudit(ctx.database.db, businessOf(req), ctx.clock.now(), {
          actor: actorOf(req),
          action: 'proof.download',
          target: req.params.id,
        });
        return reply
          .header('content-disposition', `attachment; filename="consent-proof-${req.params.id}.json"`)
          .send(proof);
      },
    );

    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
      '/v1/people/:id/erase',
      {
        schema: {
          tags,
          summary: 'Erase a person (right to be forgotten); the number stays suppressed as a keyed hash',
          params: IdParams,
          body: Type.Optional(
            Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
          ),
          response: {
            200: Type.Object({
              personId: Type.String(),
              erasedAt: Timestamp,
              cancelledMessages: Type.Integer(),
              alreadyErased: Type.Boolean(),
            }),
            ...errorResponses(404),
          },
        },
      },
      async (req) =>
        erasePerson(ctx, businessOf(req), req.params.id, { actor: actorOf(req), reason: req.body?.reason }),
    );
  };
