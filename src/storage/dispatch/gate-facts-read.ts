import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { Database } from '../db.js';
import type { CapRow } from '../../domain/gate/decide.js';
import { keyColumn, type PersonKey } from '../consent/people-store.js';
import { parseJson } from '../json.js';
import { sqliteGateFactsRead } from '../sqlite/gate-facts-read.js';
import { postgresGateFactsRead } from '../postgres/gate-facts-read.js';

type Q = Kysely<DB>;

/**
 * Notifications that count against the caps whatever their send time: queued (ahead of the one decided) and in
 * flight. Sent ones count when `sent_at` is within the window; refused, cancelled and failed ones never.
 */
export const COUNTED_STATUSES = ['queued', 'sending'] as const;
/**
 * THE predicate, in every statement reading counted notifications: `counted_at(m) > since`. One expression
 * instead of `sent_at > ? OR status IN (…)`: SQLite plans the OR form a third slower on the gate's hot path
 * (measured). The list is not cut by a LIMIT: the window bounds it, and a cut list would undercount a per-topic cap.
 */
export const countedAt = (m: string) =>
  `COALESCE(${m}.sent_at, CASE WHEN ${m}.status IN (${COUNTED_STATUSES.map((s) => `'${s}'`).join(', ')}) THEN ${Number.MAX_SAFE_INTEGER} ELSE 0 END)`;

/** What the gate reads at enqueue in one statement: the business's config version, the person, state, sends. */
export interface GateRow {
  configVersion: number;
  personId: string | null;
  erasedAt: number | null;
  unreachableAt: number | null;
  timezone: string | null;
  /** The country of the person's number: its public holidays may be quiet hours. */
  country: string | null;
  status: string | null;
  eventId: string | null;
  /** The person's counted notifications (any order: the domain sorts them). */
  sends: CapRow[];
}

/** The port: one read of the gate's facts, the fastest way each database allows. Undefined: no such business. */
export interface GateFactsRead {
  read(q: Q, businessId: string, key: PersonKey, topicId: string, since: number): Promise<GateRow | undefined>;
}

/** The statement's columns, as both dialects return them (`sends`: a JSON array of [topic_id, sent_at, status]). */
export interface FactsRow {
  config_version: number;
  person_id: string | null;
  erased_at: number | null;
  unreachable_at: number | null;
  timezone: string | null;
  country: string | null;
  status: string | null;
  event_id: string | null;
  sends: string | null;
}

export const toGateRow = (r: FactsRow | undefined): GateRow | undefined =>
  r && {
    configVersion: Number(r.config_version),
    personId: r.person_id ?? null,
    erasedAt: r.erased_at === null || r.erased_at === undefined ? null : Number(r.erased_at),
    unreachableAt: r.unreachable_at === null || r.unreachable_at === undefined ? null : Number(r.unreachable_at),
    timezone: r.timezone ?? null,
    country: r.country ?? null,
    status: r.status ?? null,
    eventId: r.event_id ?? null,
    sends: parseSends(r.sends),
  };

const parseSends = (json: string | null): CapRow[] =>
  // Most people have no counted notification: '[]' (SQLite) or NULL (PostgreSQL) needs no parsing.
  !json || json === '[]'
    ? []
    : parseJson<[string | null, number | string | null, string][]>(json, []).map(([topicId, sentAt, status]) => ({
        topicId,
        sentAt: sentAt === null ? null : Number(sentAt),
        status,
      }));

const READ = Symbol('gate facts read');

/** The gate's read bound to this database. */
export const gateFactsRead = (database: Database): GateFactsRead =>
  database.caches.bind(READ, () => (database.sqlite ? sqliteGateFactsRead(database) : postgresGateFactsRead(database)));

/**
 * The plain reference the ports are tested against: the same facts in separate Kysely queries, no dialect
 * SQL, no raw handle. Slower (four round trips), never used on a hot path.
 */
export const referenceGateFactsRead: GateFactsRead = {
  async read(q, businessId, key, topicId, since) {
    const b = await q.selectFrom('businesses').select('config_version').where('id', '=', businessId).executeTakeFirst();
    if (!b) return undefined;
    const [col, val] = keyColumn(key);
    const p = await q
      .selectFrom('people')
      .select(['id', 'erased_at', 'unreachable_at', 'timezone', 'country'])
      .where('business_id', '=', businessId)
      .where(col, '=', val)
      .executeTakeFirst();
    const row: GateRow = {
      configVersion: Number(b.config_version),
      personId: p?.id ?? null,
      erasedAt: p?.erased_at == null ? null : Number(p.erased_at),
      unreachableAt: p?.unreachable_at == null ? null : Number(p.unreachable_at),
      timezone: p?.timezone ?? null,
      country: p?.country ?? null,
      status: null,
      eventId: null,
      sends: [],
    };
    if (!p) return row;
    const s = await q
      .selectFrom('consent_state')
      .select(['status', 'event_id'])
      .where('business_id', '=', businessId)
      .where('person_id', '=', p.id)
      .where('topic_id', '=', topicId)
      .executeTakeFirst();
    row.status = s?.status ?? null;
    row.eventId = s?.event_id ?? null;
    const ms = await q
      .selectFrom('messages')
      .select(['topic_id', 'sent_at', 'status'])
      .where('business_id', '=', businessId)
      .where('person_id', '=', p.id)
      .where('kind', '=', 'notification')
      .execute();
    const counted = (m: { sent_at: number | null; status: string }) =>
      (m.sent_at !== null
        ? Number(m.sent_at)
        : (COUNTED_STATUSES as readonly string[]).includes(m.status)
          ? Number.MAX_SAFE_INTEGER
          : 0) > since;
    row.sends = ms
      .filter(counted)
      .map((m) => ({ topicId: m.topic_id, sentAt: m.sent_at === null ? null : Number(m.sent_at), status: m.status }));
    return row;
  },
};
