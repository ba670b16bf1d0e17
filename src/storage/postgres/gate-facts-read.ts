import { CompiledQuery } from 'kysely';
import type { Database } from '../db.js';
import { keyColumn } from '../consent/people-store.js';
import { countedAt, toGateRow, type FactsRow, type GateFactsRead } from '../dispatch/gate-facts-read.js';

// The same statement as SQLite's (storage/sqlite/gate-facts-read.ts), in PostgreSQL's JSON functions. The state is
// read in a LATERAL subquery with LIMIT 1 (not flattened into the join), so it is always a lookup by the whole primary
// key (business_id, person_id, topic_id). As a plain LEFT JOIN, on tables whose statistics were young the planner
// scanned every state of the topic, (business_id, topic_id) in the key, and filtered the person out of them: 1,000
// people seeded, ~350 index entries read per decision (bench with BENCH_PG_STATS=1).
const factsSql = (col: string) => `
  SELECT b.config_version, p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, p.country, s.status, s.event_id,
    (SELECT json_agg(json_build_array(m.topic_id, m.sent_at, m.status))::text FROM messages m
       WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification' AND ${countedAt('m')} > $1) AS sends
  FROM businesses b
  LEFT JOIN people p ON p.business_id = b.id AND p.${col} = $2
  LEFT JOIN LATERAL (SELECT s.status, s.event_id FROM consent_state s
    WHERE s.business_id = p.business_id AND s.person_id = p.id AND s.topic_id = $3 LIMIT 1) s ON true
  WHERE b.id = $4`;

/**
 * The gate's read on PostgreSQL: one round trip. Outside a transaction, over the pool as a named statement
 * (parsed and planned once per connection: half the cost of the round trip); inside one, on its connection.
 */
export function postgresGateFactsRead(database: Database): GateFactsRead {
  const texts = new Map<string, string>();
  return {
    async read(q, businessId, key, topicId, since) {
      const [col, val] = keyColumn(key);
      let text = texts.get(col);
      if (!text) texts.set(col, (text = factsSql(col)));
      const values = [since, val, topicId, businessId];
      if (database.pool && !q.isTransaction) {
        return toGateRow(
          (await database.pool.query<FactsRow>({ name: `optline_gate_facts_${col}`, text, values })).rows[0],
        );
      }
      return toGateRow((await q.executeQuery<FactsRow>(CompiledQuery.raw(text, values))).rows[0]);
    },
  };
}
