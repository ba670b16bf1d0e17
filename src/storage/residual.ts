import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * A condition that only filters the rows a key lookup found, written so that PostgreSQL's planner cannot use it to
 * pick an index: `(column IN (…)) IS TRUE` means the same as `column IN (…)`, but no index matches it.
 *
 * Why: the planner estimates from statistics. Given `business_id = ? AND id = ? AND status = 'sending'`, with
 * statistics taken when almost no row was `sending`, it judged the status index (business_id, status, …) as
 * selective as the primary key and walked every in-flight row of the business (and the dead index entries of rows
 * that just changed status) for each message: ~260 index pages per message looked up, more with several workers
 * (bench: dispatch-workers with BENCH_PG_WAITS=1; docs/architecture.md, "Lookups by key use the key"). The same
 * with `type = 'opt_out'` beside the person's key on consent_events. Range scans that need such an index (the claim's
 * due rows, the reaper, reports) keep plain conditions; this is only for conditions beside a key.
 */
export function residual(column: string, values: string | readonly string[]): RawBuilder<SqlBool> {
  const list = typeof values === 'string' ? [values] : values;
  return sql<SqlBool>`(${sql.ref(column)} IN (${sql.join(list.map((s) => sql.lit(s)))})) IS TRUE`;
}

/** The status guard of a message found by its key: "only if it is still …" (see residual). */
export const keyedStatus = (statuses: string | readonly string[], column = 'status') => residual(column, statuses);

/** keyedStatus for statements written as text (PostgreSQL's send start): `alias.status`, a constant status. */
export const keyedStatusText = (alias: string, status: 'sending' | 'queued') =>
  `(${alias}.status IN ('${status}')) IS TRUE`;
