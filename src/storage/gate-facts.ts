import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.js';
import { preparedOn, type Database } from './db.js';
import type { ConsentStatus } from '../domain/consent.js';
import type { GateFacts } from '../domain/gate.js';
import type { BusinessPolicy } from '../domain/policy.js';
import { cachedBusiness } from './business-cache.js';
import { isSuppressed, keyColumn, type PersonKey } from './people-store.js';
import { parseJson } from './json.js';

type Q = Kysely<DB>;

interface FactsRow {
  person_id: string;
  erased_at: number | null;
  unreachable_at: number | null;
  timezone: string | null;
  status: string | null;
  event_id: string | null;
  sends: string | null; // JSON [[topic_id, sent_at], ...], newest first
}

// SQLite: one prepared statement, person + state for the topic + their recent sends as a JSON array; the
// frequency caps count what was actually sent. The LIMIT is written CAST(? AS INTEGER) on purpose: a bare
// `LIMIT ?` marks the statement as depending on that value, and SQLite then re-prepares it on every run
// (measured: a bare `LIMIT ?` made the sends subquery five times slower than the whole rest of the read).
const sqliteSql = (col: string) => `
  SELECT p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, s.status, s.event_id,
    (SELECT json_group_array(json_array(r.topic_id, r.sent_at)) FROM (
       SELECT m.topic_id, m.sent_at FROM messages m
       WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification' AND m.sent_at > ?
       ORDER BY m.sent_at DESC LIMIT CAST(? AS INTEGER)) r) AS sends
  FROM people p
  LEFT JOIN consent_state s ON s.business_id = p.business_id AND s.person_id = p.id AND s.topic_id = ?
  WHERE p.business_id = ? AND p.${col} = ?`;

// PostgreSQL: one round trip, the send list aggregated in SQL.
const PG_FACTS_SQL = (col: string) => `
  SELECT p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, s.status, s.event_id,
    (SELECT json_agg(json_build_array(r.topic_id, r.sent_at))::text FROM (
       SELECT m.topic_id, m.sent_at FROM messages m
       WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification' AND m.sent_at > $1
       ORDER BY m.sent_at DESC LIMIT $2) r) AS sends
  FROM people p
  LEFT JOIN consent_state s ON s.business_id = p.business_id AND s.person_id = p.id AND s.topic_id = $3
  WHERE p.business_id = $4 AND p.${col} = $5`;

// Statement texts, built once per dialect and key column (a template string per decision showed in the profile;
// pg compares a named statement's text with the prepared one on every run, the SQLite cache looks it up by text).
const texts = new Map<string, string>();
function factsSql(dialect: 'sqlite' | 'postgres', col: string): string {
  const key = `${dialect}:${col}`;
  let t = texts.get(key);
  if (!t) texts.set(key, (t = dialect === 'sqlite' ? sqliteSql(col) : PG_FACTS_SQL(col)));
  return t;
}

function readSqlite(database: Database, businessId: string, col: string, val: string, topicId: string, since: number, limit: number): FactsRow | undefined {
  return preparedOn(database.sqlite!, factsSql('sqlite', col)).get(since, limit, topicId, businessId, val) as FactsRow | undefined;
}

async function readFacts(database: Database, q: Q, businessId: string, key: PersonKey, topicId: string, since: number, limit: number): Promise<FactsRow | undefined> {
  const [col, val] = keyColumn(key);
  if (database.sqlite) {
    // Inside a transaction the raw handle is that transaction's connection. Outside one, the read must not
    // run in the middle of another request's open transaction (it would see its uncommitted rows): when none
    // is open on the connection, the synchronous read cannot be interleaved with one and runs at once;
    // otherwise it waits for Kysely's connection lock like any other query.
    if (q.isTransaction || !database.sqlite!.inTransaction) return readSqlite(database, businessId, col, val, topicId, since, limit);
    return q.connection().execute(async () => readSqlite(database, businessId, col, val, topicId, since, limit));
  }
  if (database.pool && !q.isTransaction) {
    // A named statement is parsed and planned once per connection: this halves the cost of the gate's one
    // round trip on PostgreSQL. (Inside a transaction the read must use the transaction's connection.)
    const r = await database.pool.query<FactsRow>({ name: `optline_gate_facts_${col}`, text: factsSql('postgres', col), values: [since, limit, topicId, businessId, val] });
    return r.rows[0];
  }
  const r = await sql<FactsRow>`
    SELECT p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, s.status, s.event_id,
      (SELECT json_agg(json_build_array(r.topic_id, r.sent_at))::text FROM (
         SELECT m.topic_id, m.sent_at FROM messages m
         WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification' AND m.sent_at > ${since}
         ORDER BY m.sent_at DESC LIMIT ${limit}) r) AS sends
    FROM people p
    LEFT JOIN consent_state s ON s.business_id = p.business_id AND s.person_id = p.id AND s.topic_id = ${topicId}
    WHERE p.business_id = ${businessId} AND ${sql.ref(`p.${col}`)} = ${val}`.execute(q);
  return r.rows[0];
}

// How far back the caps and the spacing look, and how many sends they can need: per policy object, which the
// business cache keeps while the policy is unchanged (computed per decision, it showed in the gate's profile).
const windows = new WeakMap<BusinessPolicy, { windowMs: number; limit: number }>();
function sendWindow(policy: BusinessPolicy): { windowMs: number; limit: number } {
  let w = windows.get(policy);
  if (!w) {
    w = {
      windowMs: Math.max(0, ...policy.frequencyCaps.map((c) => c.windowHours * 3_600_000), policy.minSpacingSeconds * 1000),
      limit: Math.max(1, ...policy.frequencyCaps.map((c) => c.max)) + 1,
    };
    windows.set(policy, w);
  }
  return w;
}

/**
 * Everything the gate needs, in one round trip on the common path: business and topics from the short-lived
 * cache, then person + state + recent sends in one statement; the suppression list only when no live person
 * matches the number.
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
  const b = await cachedBusiness(q, businessId);
  if (!b) return null;
  const policy = b.policy;
  const topic = b.topicsByKey.get(topicKey) ?? null;
  const { windowMs, limit } = sendWindow(policy);
  const row = await readFacts(database, q, businessId, person, topic?.id ?? '', now - windowMs, limit);
  let suppressed = false;
  if ((!row || row.erased_at !== null) && person.phone) suppressed = await isSuppressed(q, businessId, phoneHash(person.phone));
  // Most people have no recent send: '[]' (SQLite) or NULL (PostgreSQL) needs no parsing.
  const sends = !row?.sends || row.sends === '[]' ? [] : parseJson<[string | null, number][]>(row.sends, []).map(([topicId, sentAt]) => ({
    topicKey: topicId ? (b.topicsById.get(topicId)?.key ?? null) : null,
    sentAt: Number(sentAt),
  }));
  return {
    now,
    policy,
    topic: topic ? { id: topic.id, key: topic.key, category: topic.category, archived: topic.archivedAt !== null } : null,
    person: row ? { id: row.person_id, erased: row.erased_at !== null, unreachable: row.unreachable_at !== null, timezone: row.timezone ?? null } : null,
    suppressed,
    state: row?.status ? { status: row.status as ConsentStatus, eventId: row.event_id! } : null,
    recentSends: windowMs > 0 ? sends : [],
    personId: row?.person_id ?? null,
    topicId: topic?.id ?? null,
  };
}
