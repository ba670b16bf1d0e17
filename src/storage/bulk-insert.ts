import { CompiledQuery, sql, type Kysely } from 'kysely';
import { preparedOn, type Database, type Trx } from './db.js';
import type { DB } from './schema.js';

/** A table written many rows at a time. */
export interface BulkTable<K extends keyof DB> {
  table: K;
  columns: readonly (keyof DB[K] & string)[];
  /** The integer (bigint) columns; every other column is text. */
  integers: readonly (keyof DB[K] & string)[];
  /** Upsert: on a conflict on `key`, the `set` columns take the new row's values. */
  upsert?: { key: readonly (keyof DB[K] & string)[]; set: readonly (keyof DB[K] & string)[] };
}

/** The same, with the table's column types forgotten (what the statement builders need). */
interface Shape {
  table: string;
  columns: readonly string[];
  integers: readonly string[];
  upsert?: { key: readonly string[]; set: readonly string[] };
}

// SQLite binds at most 32,766 parameters per statement. (PostgreSQL's 65,535 never comes near: one array per column.)
const PARAM_BUDGET = 32_000;
const texts = new WeakMap<object, Map<string, string>>();

/**
 * Writes rows in the caller's transaction with a few statements whatever their number. Statement text is
 * compiled by Kysely (placeholders and quoting suit the dialect) once per shape and cached: building Kysely's
 * query tree value by value is the slow part at a million rows.
 *
 * PostgreSQL gets one statement per table, each column as one array parameter (`INSERT ... SELECT * FROM
 * unnest($1::text[], ...)`): it parses and plans a few parameters instead of tens of thousands.
 * SQLite has no arrays: multi-row VALUES, in chunks under its parameter limit whose row counts are powers of
 * two (any number of rows is a sum of those, so a handful of statements serve every batch), each kept
 * prepared on the raw handle.
 */
export async function bulkInsert<K extends keyof DB>(
  database: Database,
  trx: Trx,
  table: BulkTable<K>,
  records: readonly DB[K][],
): Promise<void> {
  if (records.length === 0) return;
  const spec = table as unknown as Shape;
  const rows = records as unknown as readonly Readonly<Record<string, unknown>>[];
  if (database.dialect === 'postgres') {
    const columns = spec.columns.map((c) => rows.map((r) => r[c]));
    await trx.executeQuery(
      CompiledQuery.raw(
        cached(database.db, `${spec.table}:unnest`, () => unnestStatement(database.db, spec)),
        columns,
      ),
    );
    return;
  }
  let cap = 1;
  while (cap * 2 * spec.columns.length <= PARAM_BUDGET) cap *= 2;
  for (let i = 0; i < rows.length;) {
    let n = cap;
    while (n > rows.length - i) n /= 2;
    const params: unknown[] = [];
    for (let j = i; j < i + n; j++) for (const c of spec.columns) params.push(rows[j]![c]);
    const text = cached(database.db, `${spec.table}:${n}`, () => valuesStatement(database.db, spec, n));
    if (database.sqlite) {
      // Kysely's SQLite driver prepares every statement anew, and for statements this long the parse costs
      // more than the insert. better-sqlite3 runs synchronously on the one connection Kysely's transaction
      // holds, so a statement kept prepared on that handle runs inside the same transaction.
      preparedOn(database.sqlite, text).run(params);
    } else {
      await trx.executeQuery(CompiledQuery.raw(text, params));
    }
    i += n;
  }
}

function cached(root: Kysely<DB>, key: string, build: () => string): string {
  let cache = texts.get(root);
  if (!cache) texts.set(root, (cache = new Map()));
  let text = cache.get(key);
  if (text === undefined) cache.set(key, (text = build()));
  return text;
}

type AnyInsert = ReturnType<Kysely<Record<string, Record<string, unknown>>>['insertInto']>;

function withUpsert<Q extends { onConflict: AnyInsert['onConflict'] }>(q: Q, spec: Shape): Q {
  if (!spec.upsert) return q;
  const { key, set } = spec.upsert;
  return q.onConflict((oc) =>
    oc.columns([...key]).doUpdateSet((eb) => Object.fromEntries(set.map((c) => [c, eb.ref(`excluded.${c}`)]))),
  ) as unknown as Q;
}

/** The compiled statement must expect its parameters in the order bulkInsert lays them out. */
function checkLayout(spec: Shape, parameters: readonly unknown[], count: number): void {
  const cols = spec.columns.length;
  if (parameters.length !== count || parameters.some((v, k) => v !== k % cols))
    throw new Error(`bulk insert into ${spec.table}: unexpected parameter layout`);
}

function valuesStatement(root: Kysely<DB>, spec: Shape, n: number): string {
  const sample = Array.from({ length: n }, () => Object.fromEntries(spec.columns.map((c, k) => [c, k])));
  const q = withUpsert(
    (root as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto(spec.table).values(sample),
    spec,
  ).compile();
  checkLayout(spec, q.parameters, n * spec.columns.length);
  return q.sql;
}

function unnestStatement(root: Kysely<DB>, spec: Shape): string {
  const arrays = spec.columns.map((c, k) => sql`${k}::${sql.raw(spec.integers.includes(c) ? 'int8' : 'text')}[]`);
  const q = withUpsert(
    (root as unknown as Kysely<Record<string, Record<string, unknown>>>)
      .insertInto(spec.table)
      .columns([...spec.columns])
      .expression(sql`select * from unnest(${sql.join(arrays)})`),
    spec,
  ).compile();
  checkLayout(spec, q.parameters, spec.columns.length);
  return q.sql;
}
