import { preparedOn, type Database } from '../db.js';
import { keyColumn } from '../consent/people-store.js';
import { countedAt, toGateRow, type FactsRow, type GateFactsRead } from '../dispatch/gate-facts-read.js';

// One statement: the business's config version (so the cache is checked in the same round trip), the person,
// their state for the topic, and their counted notifications as a JSON array (the domain sorts them).
const factsSql = (col: string) => `
  SELECT b.config_version, p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, p.country, s.status, s.event_id,
    (SELECT json_group_array(json_array(m.topic_id, m.sent_at, m.status)) FROM messages m
       WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification' AND ${countedAt('m')} > ?) AS sends
  FROM businesses b
  LEFT JOIN people p ON p.business_id = b.id AND p.${col} = ?
  LEFT JOIN consent_state s ON s.business_id = b.id AND s.person_id = p.id AND s.topic_id = ?
  WHERE b.id = ?`;

/** The gate's read on SQLite: one prepared statement on the raw handle (Kysely would prepare it on every run). */
export function sqliteGateFactsRead(database: Database): GateFactsRead {
  const raw = database.sqlite!;
  // Built once per key column: a template string per decision showed in the profile.
  const texts = new Map<string, string>();
  return {
    async read(q, businessId, key, topicId, since) {
      const [col, val] = keyColumn(key);
      let text = texts.get(col);
      if (!text) texts.set(col, (text = factsSql(col)));
      const t = text;
      const read = () => toGateRow(preparedOn(raw, t).get(since, val, topicId, businessId) as FactsRow | undefined);
      // Inside a transaction the raw handle is that transaction's connection. Outside one, the read must not
      // run in the middle of another request's open transaction (it would see its uncommitted rows): when none
      // is open on the connection, the synchronous read cannot be interleaved with one and runs at once;
      // otherwise it waits for Kysely's connection lock like any other query.
      if (q.isTransaction || !raw.inTransaction) return read();
      return q.connection().execute(async () => read());
    },
  };
}
