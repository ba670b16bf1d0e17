import { CompiledQuery } from 'kysely';
import type { Database } from '../db.js';
import { keyColumn } from '../consent/people-store.js';
import { countedAt, toGateRow, type FactsRow, type GateFactsRead, type GateRow } from '../dispatch/gate-facts-read.js';
import { groupCommit, type GroupCommitter } from '../group-commit.js';

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

// The same read for many decisions at once: one row per asked (business, person key, topic, since), numbered by
// its place in the arrays; a business that does not exist gives no row. Each person and state is a LATERAL lookup by
// its key, so the plan is a loop of index lookups however many decisions the statement carries.
const batchSql = (col: string) => `
  SELECT k.i, b.config_version, p.id AS person_id, p.erased_at, p.unreachable_at, p.timezone, p.country, s.status,
    s.event_id,
    (SELECT json_agg(json_build_array(m.topic_id, m.sent_at, m.status))::text FROM messages m
       WHERE m.business_id = p.business_id AND m.person_id = p.id AND m.kind = 'notification'
         AND ${countedAt('m')} > k.since) AS sends
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS k(business_id, val, topic_id, since, i)
  JOIN businesses b ON b.id = k.business_id
  LEFT JOIN LATERAL (SELECT pp.id, pp.business_id, pp.erased_at, pp.unreachable_at, pp.timezone, pp.country
    FROM people pp WHERE pp.business_id = b.id AND pp.${col} = k.val LIMIT 1) p ON true
  LEFT JOIN LATERAL (SELECT s.status, s.event_id FROM consent_state s
    WHERE s.business_id = p.business_id AND s.person_id = p.id AND s.topic_id = k.topic_id LIMIT 1) s ON true`;

interface Ask {
  businessId: string;
  val: string;
  topicId: string;
  since: number;
}

/** Batches of decisions read at once (statements in flight), per key column. */
const LANES = 4;

/**
 * The gate's read on PostgreSQL: one round trip. Inside a transaction, on its connection. Outside one, the decisions
 * that arrive together share it: each key column has a batcher (group-commit.ts) that sends what arrived while its
 * last statements were out as one named statement over the pool (parsed and planned once per connection). Under
 * load, N concurrent decisions cost a few round trips instead of N; alone, a decision waits for nothing. Each
 * statement reads committed data as of its start, which is after every decision it carries was asked.
 */
export function postgresGateFactsRead(database: Database): GateFactsRead {
  const texts = new Map<string, string>();
  const singleText = (col: string) => {
    let text = texts.get(col);
    if (!text) texts.set(col, (text = factsSql(col)));
    return text;
  };
  const batchers = new Map<string, GroupCommitter<Ask, GateRow | undefined>>();
  const batcherFor = (col: string) => {
    let b = batchers.get(col);
    if (!b) {
      const text = batchSql(col);
      const name = `optline_gate_facts_batch_${col}`;
      b = groupCommit<Ask, GateRow | undefined>(
        async (asks) => {
          // One decision alone: the single statement, cheaper to plan and run than the arrays.
          if (asks.length === 1) {
            const a = asks[0]!;
            const single = {
              name: `optline_gate_facts_${col}`,
              text: singleText(col),
              values: [a.since, a.val, a.topicId, a.businessId],
            };
            return [toGateRow((await database.pool!.query<FactsRow>(single)).rows[0])];
          }
          const values = [
            asks.map((a) => a.businessId),
            asks.map((a) => a.val),
            asks.map((a) => a.topicId),
            asks.map((a) => a.since),
          ];
          const rows = (await database.pool!.query<FactsRow & { i: number }>({ name, text, values })).rows;
          const out: (GateRow | undefined)[] = asks.map(() => undefined);
          for (const r of rows) out[Number(r.i) - 1] = toGateRow(r);
          return out;
        },
        256,
        LANES,
      );
      batchers.set(col, b);
    }
    return b;
  };
  return {
    async read(q, businessId, key, topicId, since) {
      const [col, val] = keyColumn(key);
      if (database.pool && !q.isTransaction) return batcherFor(col)({ businessId, val, topicId, since });
      const values = [since, val, topicId, businessId];
      return toGateRow((await q.executeQuery<FactsRow>(CompiledQuery.raw(singleText(col), values))).rows[0]);
    },
  };
}
