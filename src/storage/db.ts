import { mkdirSync } from 'node:fs';
import { DatabaseCaches } from './caches.js';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, sql, type Dialect, type Transaction } from 'kysely';
import type { DB } from './schema.js';
import { withCurrentSchemaIntrospector } from './postgres/introspector.js';
import { commitThenSync } from './sqlite/deferred-sync.js';

export type Dialect_ = 'sqlite' | 'postgres';

/**
 * What differs between the two databases, decided here once. Code elsewhere asks `caps.skipLocked`, never
 * `dialect === 'sqlite'`.
 */
export interface Capabilities {
  /** Row locks (`FOR UPDATE`, `SKIP LOCKED`): PostgreSQL. SQLite serialises every write on one connection. */
  rowLocks: boolean;
  /** Many connections: claims must be atomic across processes. */
  concurrentWriters: boolean;
}

export type Trx = Transaction<DB>;

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect_;
  caps: Capabilities;
  /** Runs fn in one transaction; on PostgreSQL retries serialisation failures and deadlocks a few times. */
  transaction<T>(fn: (trx: Trx) => Promise<T>): Promise<T>;
  /**
   * A transaction whose promise resolves once it is on disk, without blocking the event loop on the fsync (SQLite:
   * storage/sqlite/deferred-sync.ts; PostgreSQL: a plain transaction, durable when it returns).
   */
  syncedTransaction<T>(fn: (trx: Trx) => Promise<T>): Promise<T>;
  /** The raw better-sqlite3 handle (benchmarks' floor), when on SQLite. */
  sqlite?: SQLite.Database;
  /** The raw pg pool (benchmarks' floor), when on PostgreSQL over the network. */
  pool?: pg.Pool;
  /** Every in-memory cache of this handle and the helpers bound to it (storage/caches.ts). */
  caches: DatabaseCaches;
  close(): Promise<void>;
}

export function openSqlite(file: string): Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const raw = new SQLite(file);
  raw.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before it returns (WAL + NORMAL could lose the last commits on power loss,
  // and an acknowledged opt-out must never be lost).
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  // 64 MiB page cache (the default is 2 MiB): the ledger's indexes stay in memory on busy single-node installs.
  raw.pragma('cache_size = -65536');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return wrap(
    db,
    'sqlite',
    { rowLocks: false, concurrentWriters: false },
    async () => {
      await db.destroy();
    },
    { sqlite: raw },
  );
}

/**
 * Kysely's SQLite driver prepares every query it runs anew, and on hot paths (webhook ingest, inbox processing)
 * preparing cost more than running. Statements are reused by SQL text (bounded, least recently used first out).
 * A statement still being iterated (a streamed query) is busy and cannot be re-run: a fresh one is prepared then.
 */
function withStatementCache(raw: SQLite.Database, max = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = (sql: string): SQLite.Statement => {
    const hit = cache.get(sql);
    if (hit && !hit.busy) {
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const stmt = raw.prepare(sql);
    if (!hit) {
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  };
  return new Proxy(raw, {
    get: (target, prop) => {
      if (prop === 'prepare') return prepare;
      const v: unknown = Reflect.get(target, prop, target);
      // Native methods must be called on the real handle, not on the proxy.
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export function openPostgres(url: string, opts: { poolSize?: number; schema?: string } = {}): Database {
  // bigint columns hold epoch milliseconds and counts, all far below 2^53: read them as numbers.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID || oid === NUMERIC_OID
        ? (v: string) => Number(v)
        : pg.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    types: types as pg.CustomTypesConfig,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<DB>({ dialect: withCurrentSchemaIntrospector(new PostgresDialect({ pool })) });
  return wrap(
    db,
    'postgres',
    { rowLocks: true, concurrentWriters: true },
    async () => {
      await db.destroy();
    },
    { pool },
  );
}

/** Any other PostgreSQL-speaking dialect (the tests' in-process PGlite). */
export function openWithDialect(dialect: Dialect, kind: Dialect_, close?: () => Promise<void>): Database {
  const db = new Kysely<DB>({ dialect: kind === 'postgres' ? withCurrentSchemaIntrospector(dialect) : dialect });
  const caps =
    kind === 'postgres' ? { rowLocks: true, concurrentWriters: false } : { rowLocks: false, concurrentWriters: false };
  return wrap(db, kind, caps, async () => {
    await db.destroy();
    await close?.();
  });
}

/** PostgreSQL's serialisation failure and deadlock: the whole transaction may be run again. The one list. */
const RETRYABLE_PG = new Set(['40001', '40P01']);

/** True when an error means the transaction lost a conflict and may be run again as a whole. */
export function isRetryableConflict(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code !== undefined && RETRYABLE_PG.has(code);
}

/**
 * Whether the connection behind `q` takes row locks (`FOR UPDATE`, `SKIP LOCKED`): PostgreSQL. SQLite has none
 * and needs none (one connection serialises every write). Stores ask this, so no caller passes a flag.
 */
export function takesRowLocks(q: Kysely<DB>): boolean {
  return !(q.getExecutor().adapter instanceof SqliteAdapter);
}

export type SavepointResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs fn inside a savepoint of the caller's transaction. When fn throws, its writes are rolled back alone and
 * the error is returned; a lost conflict (isRetryableConflict) concerns the whole transaction and is rethrown,
 * for database.transaction to run it again.
 */
export async function inSavepoint<T>(trx: Trx, name: string, fn: () => Promise<T>): Promise<SavepointResult<T>> {
  const id = sql.id(name);
  await sql`savepoint ${id}`.execute(trx);
  try {
    const value = await fn();
    await sql`release savepoint ${id}`.execute(trx);
    return { ok: true, value };
  } catch (error) {
    if (isRetryableConflict(error)) throw error;
    await sql`rollback to savepoint ${id}`.execute(trx);
    await sql`release savepoint ${id}`.execute(trx);
    return { ok: false, error };
  }
}

function wrap(
  db: Kysely<DB>,
  dialect: Dialect_,
  caps: Capabilities,
  close: () => Promise<void>,
  extra: { sqlite?: SQLite.Database; pool?: pg.Pool } = {},
): Database {
  const database: Database = {
    db,
    dialect,
    caps,
    ...extra,
    caches: new DatabaseCaches(),
    syncedTransaction: (fn) => commitThenSync(database, fn),
    async transaction(fn) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute(fn);
        } catch (e) {
          if (isRetryableConflict(e) && attempt < 5) continue;
          throw e;
        }
      }
    },
    close,
  };
  return database;
}

export function openFromConfig(cfg: { databaseUrl: string | null; dataDir: string; dbPoolSize: number }): Database {
  if (cfg.databaseUrl) return openPostgres(cfg.databaseUrl, { poolSize: cfg.dbPoolSize });
  return openSqlite(`${cfg.dataDir.replace(/\/$/, '')}/optline.db`);
}

/** True when an error is a unique-constraint violation, on either database. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (
    err?.code === '23505' || err?.code === 'SQLITE_CONSTRAINT_UNIQUE' || err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

const preparedStatements = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();

/**
 * A statement prepared once per raw SQLite handle and kept, for the hot paths that run on the raw handle instead
 * of through Kysely (which prepares every query anew): the gate's read, the opt-in, the import's bulk inserts.
 * Callers use a fixed set of statement texts, so the cache stays small.
 */
export function preparedOn(raw: SQLite.Database, text: string): SQLite.Statement {
  let cache = preparedStatements.get(raw);
  if (!cache) preparedStatements.set(raw, (cache = new Map()));
  let stmt = cache.get(text);
  if (!stmt) cache.set(text, (stmt = raw.prepare(text)));
  return stmt;
}
