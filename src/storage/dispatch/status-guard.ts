import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * The status condition of a statement that finds messages by their key (business_id, id): "only if it is still
 * `sending`". Written as `(status IN (…)) IS TRUE`, which means the same, so that PostgreSQL's planner cannot use it
 * to pick an index. Written plainly, the planner saw `business_id = ? AND status = 'sending'` as matching two columns
 * of messages_business_due, estimated from statistics taken when almost no row was `sending` that it would find
 * one row there, and walked every in-flight row of the business (and the dead index entries of rows that just
 * changed status) instead of the primary key: ~260 index pages per message looked up, and far more with several
 * workers, whose in-flight rows and unpruned versions add up (bench: dispatch-workers with BENCH_PG_WAITS=1;
 * docs/architecture.md, "Lookups by key use the key"). Range scans that need the status index (the claim's due rows,
 * the reaper) use plain conditions; this is only for lookups by key.
 */
export function keyedStatus(statuses: string | readonly string[], column = 'status'): RawBuilder<SqlBool> {
  const list = typeof statuses === 'string' ? [statuses] : statuses;
  return sql<SqlBool>`(${sql.ref(column)} IN (${sql.join(list.map((s) => sql.lit(s)))})) IS TRUE`;
}

/** keyedStatus for statements written as text (PostgreSQL's send start): `alias.status`. */
export const keyedStatusText = (alias: string, status: string) => `(${alias}.status = '${status}') IS TRUE`;
