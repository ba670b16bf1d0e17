import { after, before, describe } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { openPostgres, openSqlite, openWithDialect, type Database, type Dialect_ } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';

export const DIALECTS: Dialect_[] = ['sqlite', 'postgres'];

/** A real PostgreSQL server when OPTLINE_TEST_DATABASE_URL is set (CI), else in-process PGlite. */
export const PG_URL = process.env.OPTLINE_TEST_DATABASE_URL || '';
export const pgLabel = PG_URL ? 'postgres' : 'postgres (PGlite)';

/**
 * A fresh, migrated database for one test or suite: a new SQLite file, or a new PostgreSQL schema (dropped
 * on close). Never a fake: the real drivers and the real migrations run.
 */
export async function openTestDb(dialect: Dialect_, opts: { poolSize?: number } = {}): Promise<Database> {
  let database: Database;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'optline-test-'));
    const d = openSqlite(join(dir, 'test.db'));
    database = {
      ...d,
      close: async () => {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } else if (PG_URL) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const d = openPostgres(PG_URL, { schema, poolSize: opts.poolSize ?? 5 });
    database = {
      ...d,
      close: async () => {
        await d.close();
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      },
    };
  } else {
    const lite = new PGlite({ parsers: { 20: (v: string) => Number(v), 1700: (v: string) => Number(v) } });
    database = openWithDialect(new PGliteDialect(lite), 'postgres');
  }
  const report = await migrateToLatest(database);
  if (report.error) throw new Error(`migration failed: ${report.error}`);
  return database;
}

/**
 * Declares the same suite once per dialect. The body gets a getter for the suite's database (opened before
 * the suite, closed after it).
 */
export function forEachDialect(name: string, body: (db: () => Database, dialect: Dialect_) => void): void {
  for (const dialect of DIALECTS) {
    describe(`${name} [${dialect === 'postgres' ? pgLabel : dialect}]`, () => {
      let database: Database | undefined;
      before(async () => {
        database = await openTestDb(dialect);
      });
      after(async () => {
        await database?.close();
      });
      body(() => {
        if (!database) throw new Error('database not open yet');
        return database;
      }, dialect);
    });
  }
}
