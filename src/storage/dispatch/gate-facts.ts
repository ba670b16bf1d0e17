/**
 * THE fact loader of the send gate (domain/gate/decide.ts), for both points where it decides: at enqueue
 * (`loadGateFacts`: one person by key, one statement on the hot path) and at claim (`loadMessageFacts`: the
 * people of a claim round in a few set-based statements). Both read the same things the same way: the business
 * and its topics from the one versioned cache (storage/business/business-cache.ts), the person, their consent state, and
 * the notifications that count against the caps (`COUNTED_STATUSES`, sent within the window); both hand the
 * rows to the domain's `countedSends`, which alone decides what counts.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { preparedOn, type Database } from '../db.js';
import type { ConsentStatus } from '../../domain/consent/model.js';
import { countedSends, gateWindowMs, type CapRow, type GateFacts } from '../../domain/gate/decide.js';
import { businessCacheOf, type CachedBusiness } from '../business/business-cache.js';
import { isSuppressed, keyColumn, type PersonKey } from '../consent/people-store.js';
import { loadPeople, loadStates, type DispatchPerson } from './dispatch-store.js';
import { parseJson } from '../json.js';

type Q = Kysely<DB>;

/**
 * Notifications that count against the caps whatever their send time: queued (ahead of the one decided) and in
 * flight. Sent ones count when `sent_at` is within the window; refused, cancelled and failed ones never.
 */
export const COUNTED_STATUSES = ['queued', 'sending'] as const;
/**
 * THE predicate, in every statement below: `counted_at(m) > since`. One expression instead of
 * `sent_at > ? OR status IN (…)`: SQLite plans the OR form a third slower on the gate's hot path (measured).
 * The list is not cut by a LIMIT: the window bounds it, and a cut list would undercount a per-topic cap.
 */
const countedAt = (m: string) =>
  `COALESCE(${m}.sent_at, CASE WHEN ${m}.status IN (${COUNTED_STATUSES.map((s) => `'${s}'`).join(', ')}) THEN ${Number.MAX_SAFE_INTEGER} ELSE 0 END)`;

interface FactsRow {
  config_version: number;
  person_id: string | null;
  erased_at: number | null;
  unreachable_at: number | null;
  timezone: string | null;
  status: string | null;
  event_id: string | null;
  sends: string | null; // JSON [[topic_id, sent_at, status], ...]
}

// One statement: the business's config version (so the cache is checked in the same round trip), the person,
// their state for the topic, and their counted notifications as a JSON array (the domain sorts them).
const sqliteSql = (col: string) => `
  SELECT b.config_version, p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, s.status, s.event_id,
    (SELECT json_group_array(json_array(m.topic_id, m.sent_at, m.status)) FROM messages m
       WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification' AND ${countedAt('m')} > ?) AS sends
  FROM businesses b
  LEFT JOIN people p ON p.business_id = b.id AND p.${col} = ?
  LEFT JOIN consent_state s ON s.business_id = b.id AND s.person_id = p.id AND s.topic_id = ?
  WHERE b.id = ?`;

const pgSql = (col: string) => `
  SELECT b.config_version, p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, s.status, s.event_id,
    (SELECT json_agg(json_build_array(m.topic_id, m.sent_at, m.status))::text FROM messages m
       WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification' AND ${countedAt('m')} > $1) AS sends
  FROM businesses b
  LEFT JOIN people p ON p.business_id = b.id AND p.${col} = $2
  LEFT JOIN consent_state s ON s.business_id = b.id AND s.person_id = p.id AND s.topic_id = $3
  WHERE b.id = $4`;

// Statement texts, built once per dialect and key column (a template string per decision showed in the profile;
// pg compares a named statement's text with the prepared one on every run, the SQLite cache looks it up by text).
const texts = new Map<string, string>();
function factsSql(dialect: 'sqlite' | 'postgres', col: string): string {
  const key = `${dialect}:${col}`;
  let t = texts.get(key);
  if (!t) texts.set(key, (t = dialect === 'sqlite' ? sqliteSql(col) : pgSql(col)));
  return t;
}

async function readFacts(database: Database, q: Q, businessId: string, key: PersonKey, topicId: string, since: number): Promise<FactsRow | undefined> {
  const [col, val] = keyColumn(key);
  const params = [since, val, topicId, businessId];
  if (database.sqlite) {
    const read = () => preparedOn(database.sqlite!, factsSql('sqlite', col)).get(...params) as FactsRow | undefined;
    // Inside a transaction the raw handle is that transaction's connection. Outside one, the read must not
    // run in the middle of another request's open transaction (it would see its uncommitted rows): when none
    // is open on the connection, the synchronous read cannot be interleaved with one and runs at once;
    // otherwise it waits for Kysely's connection lock like any other query.
    if (q.isTransaction || !database.sqlite.inTransaction) return read();
    return q.connection().execute(async () => read());
  }
  if (database.pool && !q.isTransaction) {
    // A named statement is parsed and planned once per connection: this halves the cost of the gate's one
    // round trip on PostgreSQL. (Inside a transaction the read must use the transaction's connection.)
    const r = await database.pool.query<FactsRow>({ name: `optline_gate_facts_${col}`, text: factsSql('postgres', col), values: params });
    return r.rows[0];
  }
  const r = await q.executeQuery<FactsRow>(CompiledQuery.raw(factsSql('postgres', col), params));
  return r.rows[0];
}

const parseSends = (json: string | null): CapRow[] =>
  // Most people have no counted notification: '[]' (SQLite) or NULL (PostgreSQL) needs no parsing.
  !json || json === '[]'
    ? []
    : parseJson<[string | null, number | string | null, string][]>(json, []).map(([topicId, sentAt, status]) => ({
      topicId, sentAt: sentAt === null ? null : Number(sentAt), status,
    }));

const topicFact = (t: { id: string; key: string; category: string; archivedAt: number | null } | undefined): GateFacts['topic'] =>
  t ? { id: t.id, key: t.key, category: t.category as NonNullable<GateFacts['topic']>['category'], archived: t.archivedAt !== null } : null;

/**
 * Everything the gate needs at enqueue, in one round trip on the common path: the cached business checked
 * against the version read in the same statement as person + state + counted notifications; the suppression
 * list only when no live person matches the number. When the version moved, the business is reloaded and, if
 * the topic or the window it read with changed, the facts are read again: a decision never rests on an old
 * topic list or policy.
 */
export async function loadGateFacts(
  database: Database,
  q: Q,
  businessId: string,
  person: PersonKey,
  topicKey: string,
  now: number,
  phoneHash: (e164: string) => string,
): Promise<(GateFacts & { personId: string | null; topicId: string | null }) | null> {
  const cache = businessCacheOf(database.db);
  let b: CachedBusiness | null = cache.peek(businessId) ?? (await cache.load(q, businessId));
  if (!b) return null;
  let row: FactsRow | undefined;
  for (let round = 0; ; round++) {
    const topicId = b.topicsByKey.get(topicKey)?.id ?? '';
    const windowMs = gateWindowMs(b.policy);
    row = await readFacts(database, q, businessId, person, topicId, now - windowMs);
    if (!row) return null;
    const version = Number(row.config_version);
    if (version <= b.version) break;
    const fresh: CachedBusiness | null = await cache.at(q, businessId, version);
    if (!fresh) return null;
    const same = (fresh.topicsByKey.get(topicKey)?.id ?? '') === topicId && gateWindowMs(fresh.policy) === windowMs;
    b = fresh;
    // Bounded: a business whose settings change on every read is decided on the newest ones read.
    if (same || round === 2) break;
  }
  const topic = b.topicsByKey.get(topicKey);
  let suppressed = false;
  if ((!row.person_id || row.erased_at !== null) && person.phone) suppressed = await isSuppressed(q, businessId, phoneHash(person.phone));
  const topicsById = b.topicsById;
  return {
    now,
    policy: b.policy,
    topic: topicFact(topic),
    person: row.person_id ? { id: row.person_id, erased: row.erased_at !== null, unreachable: row.unreachable_at !== null, timezone: row.timezone ?? null } : null,
    suppressed,
    state: row.status ? { status: row.status as ConsentStatus, eventId: row.event_id! } : null,
    recentSends: gateWindowMs(b.policy) > 0 ? countedSends(parseSends(row.sends), (id) => topicsById.get(id)?.key ?? null, null, now) : [],
    personId: row.person_id ?? null,
    topicId: topic?.id ?? null,
  };
}

export interface MessageFacts {
  people: Map<string, DispatchPerson>;
  states: Map<string, Map<string, { status: ConsentStatus; eventId: string }>>;
  /** Per person, their counted notifications (CapRow, with id and created_at so the claim can tell "ahead"). */
  counted: Map<string, CapRow[]>;
}

/**
 * The same facts for the people of a claim round (or of one message being re-checked): people, states, and
 * counted notifications, read in the caller's transaction. `notified` are the people with a notification in the
 * round (only they need the caps' rows).
 */
export async function loadMessageFacts(
  q: Q,
  business: Pick<CachedBusiness, 'id' | 'policy'>,
  personIds: string[],
  notified: string[],
  now: number,
): Promise<MessageFacts> {
  const people = await loadPeople(q, business.id, personIds);
  const states = await loadStates(q, business.id, personIds);
  const counted = new Map<string, CapRow[]>();
  const windowMs = gateWindowMs(business.policy);
  if (windowMs > 0 && notified.length) {
    const rows = await q
      .selectFrom('messages')
      .select(['id', 'person_id', 'topic_id', 'sent_at', 'status', 'created_at'])
      .where('business_id', '=', business.id)
      .where('person_id', 'in', notified)
      .where('kind', '=', 'notification')
      .where(sql.raw(countedAt('messages')), '>', now - windowMs)
      .execute();
    for (const r of rows) {
      let l = counted.get(r.person_id);
      if (!l) counted.set(r.person_id, (l = []));
      l.push({ id: r.id, topicId: r.topic_id, sentAt: r.sent_at === null ? null : Number(r.sent_at), status: r.status, createdAt: Number(r.created_at) });
    }
  }
  return { people, states, counted };
}
