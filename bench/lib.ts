import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { openPostgres, openSqlite, type Database, type Dialect_ } from '../src/storage/db.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import { systemClock } from '../src/lib/clock.js';
import { createKeyring } from '../src/lib/crypto.js';
import { silentLogger } from '../src/lib/logger.js';
import type { ServiceContext } from '../src/services/context.js';

export interface Figure {
  name: string;
  dialect: Dialect_ | 'none';
  value: number;
  unit: string;
  floorName: string;
  floor: number | null;
  /** value / floor for throughputs, floor / value for durations; null when there is no floor */
  ratio: number | null;
  target: string;
  met: boolean | null;
  extra?: Record<string, number | string>;
}

export const BENCH_PG_URL = process.env.OPTLINE_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: BENCH_PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Where a bench database is, for a child process that opens it too (the import bench). */
export type BenchDbLocation =
  { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string; schema: string };

/** A throwaway, migrated database: a temp SQLite file or a fresh PostgreSQL schema. */
export async function openBenchDb(dialect: Dialect_, poolSize = 10): Promise<Database & { location: BenchDbLocation }> {
  let d: Database & { location: BenchDbLocation };
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'optline-bench-'));
    const file = join(dir, 'bench.db');
    const s = openSqlite(file);
    d = {
      ...s,
      location: { dialect, file },
      close: async () => {
        await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } else {
    const schema = `bench_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: BENCH_PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const p = openPostgres(BENCH_PG_URL, { schema, poolSize });
    d = {
      ...p,
      location: { dialect, url: BENCH_PG_URL, schema },
      close: async () => {
        await p.close();
        const c = new pg.Client({ connectionString: BENCH_PG_URL });
        await c.connect();
        if (process.env.BENCH_PG_STATS) await printTableStats(c, schema);
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      },
    };
  }
  const r = await migrateToLatest(d);
  if (r.error) throw new Error(r.error);
  await refuseRelaxedDurability(d);
  return d;
}

/**
 * BENCH_PG_STATS=1 (diagnostics, on stderr): what each bench database's statements read, from PostgreSQL's
 * statistics, before its schema is dropped: the indexes read most and the tables scanned whole. An index read far
 * more often than the rows a bench touches is a plan to look at (docs/architecture.md, "Lookups by key use the key").
 */
async function printTableStats(c: pg.Client, schema: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 700)); // the statistics collector reports every 500 ms
  const ix = await c.query<{ r: string }>(
    `SELECT relname || '.' || indexrelname || ' scans=' || idx_scan || ' read=' || idx_tup_read AS r
       FROM pg_stat_user_indexes WHERE schemaname = $1 AND idx_tup_read > 0 ORDER BY idx_tup_read DESC LIMIT 8`,
    [schema],
  );
  const tb = await c.query<{ r: string }>(
    `SELECT relname || ' seq_scans=' || seq_scan || ' seq_read=' || seq_tup_read || ' upd=' || n_tup_upd
        || ' hot=' || n_tup_hot_upd AS r
       FROM pg_stat_user_tables WHERE schemaname = $1 AND (seq_tup_read > 0 OR n_tup_upd > 0)
      ORDER BY seq_tup_read DESC LIMIT 8`,
    [schema],
  );
  process.stderr.write(`# pg stats ${schema}\n${[...ix.rows, ...tb.rows].map((x) => `#   ${x.r}`).join('\n')}\n`);
}

/**
 * No figure may be bought with a weaker guarantee: the bench runs only where an acknowledged write is on disk
 * (SQLite in WAL with synchronous=FULL, as openSqlite sets it; PostgreSQL with fsync, full-page writes and
 * synchronous commits on). A server tuned otherwise would flatter every figure, so the bench stops instead.
 */
export async function refuseRelaxedDurability(d: Database): Promise<void> {
  const problems: string[] = [];
  if (d.sqlite) {
    if (Number(d.sqlite.pragma('synchronous', { simple: true })) !== 2) problems.push('SQLite synchronous is not FULL');
    if (String(d.sqlite.pragma('journal_mode', { simple: true })) !== 'wal') problems.push('SQLite is not in WAL mode');
  } else {
    for (const [name, ok] of [
      ['fsync', ['on']],
      ['full_page_writes', ['on']],
      ['synchronous_commit', ['on', 'remote_write', 'remote_apply']],
    ] as const) {
      const { rows } = await sql<{ v: string }>`SELECT current_setting(${name}) AS v`.execute(d.db);
      const v = rows[0]?.v ?? '';
      if (!(ok as readonly string[]).includes(v)) problems.push(`PostgreSQL ${name} is ${v}`);
    }
  }
  if (problems.length)
    throw new Error(`bench refused: ${problems.join('; ')} (acknowledged writes would not be durable)`);
}

export function benchContext(database: Database): ServiceContext {
  return { database, clock: systemClock, keyring: createKeyring(randomBytes(32)), logger: silentLogger() };
}

/** Runs fn repeatedly for about `ms` (after a warm-up) and returns operations per second. */
export async function opsPerSecond(
  fn: (i: number) => Promise<unknown> | unknown,
  ms: number,
  concurrency = 1,
): Promise<number> {
  const warm = Date.now() + Math.min(300, ms / 5);
  let i = 0;
  while (Date.now() < warm) await fn(i++);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn(i++);
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

export function figure(
  f: Omit<Figure, 'ratio' | 'met'> & { higherIsBetter?: boolean; targetRatio?: number; targetMax?: number },
): Figure {
  const ratio = f.floor ? (f.higherIsBetter === false ? f.floor / f.value : f.value / f.floor) : null;
  let met: boolean | null = null;
  if (f.targetRatio !== undefined && ratio !== null) met = ratio >= f.targetRatio;
  if (f.targetMax !== undefined) met = f.value <= f.targetMax;
  const { higherIsBetter: _h, targetRatio: _r, targetMax: _m, ...rest } = f;
  return { ...rest, ratio: ratio === null ? null : Math.round(ratio * 1000) / 1000, met };
}

/**
 * A figure and its floor measured in turns (floor, value, floor, value, …) and each taken as its median: the
 * machine's speed drifts within a run (other processes, CPU frequency), and alternating keeps both under the
 * same conditions. `measure` returns one run's result; `rate` reads the number compared.
 */
export async function alternating<T>(
  rounds: number,
  floor: () => Promise<T>,
  value: () => Promise<T>,
  rate: (r: T) => number,
): Promise<{ floor: T; value: T }> {
  const fs: T[] = [];
  const vs: T[] = [];
  for (let i = 0; i < rounds; i++) {
    fs.push(await floor());
    vs.push(await value());
  }
  const median = (xs: T[]) => [...xs].sort((a, b) => rate(a) - rate(b))[Math.floor(xs.length / 2)]!;
  return { floor: median(fs), value: median(vs) };
}
