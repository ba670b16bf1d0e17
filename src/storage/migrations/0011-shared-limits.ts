import { sql, SqliteAdapter, type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
//
// What several processes on one database share instead of keeping it in memory (docs/multi-process.md). These
// three are small reference-style tables, not per-business data: their rows concern the deployment (a rate-limit
// bucket of an IP, a process lease, a cache's version), so they are keyed by their own name, not by business.
// - rate_limits: one counter per limiter key (a hash of it: keys hold IPs and phone numbers) and window; the
//   count is one atomic upsert, so N processes count one limit once; expired rows are deleted by housekeeping.
// - process_leases: who runs a loop that must run once per database (the inbox processor, housekeeping) and
//   until when; taken and renewed with one conditional upsert; another process takes over after `until`.
// - cache_versions: a counter bumped by each write that in-memory caches of every process must notice; processes
//   poll it (one primary-key read) and drop what they hold when it moves. 'api_keys' is bumped by triggers on
//   every revocation or deletion of a business or admin key, in its transaction, so no write path can forget it.
const KEY_TABLES = ['api_keys', 'admin_keys'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .createTable('rate_limits')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addColumn('reset_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_limits_reset').on('rate_limits').column('reset_at').execute();
  await db.schema
    .createTable('process_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .addColumn('taken_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('cache_versions')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO cache_versions (name, version) VALUES ('api_keys', 0)`.execute(db);
  const bump = `UPDATE cache_versions SET version = version + 1 WHERE name = 'api_keys'`;
  if (sqlite) {
    for (const t of KEY_TABLES) {
      await sql
        .raw(`CREATE TRIGGER ${t}_revoked_version AFTER UPDATE OF revoked_at ON ${t} BEGIN ${bump}; END`)
        .execute(db);
      await sql.raw(`CREATE TRIGGER ${t}_deleted_version AFTER DELETE ON ${t} BEGIN ${bump}; END`).execute(db);
    }
    return;
  }
  await sql
    .raw(
      `CREATE FUNCTION optline_bump_keys_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN ${bump}; RETURN NULL; END $$`,
    )
    .execute(db);
  for (const t of KEY_TABLES) {
    await sql
      .raw(
        `CREATE TRIGGER ${t}_keys_version AFTER UPDATE OF revoked_at OR DELETE ON ${t}
      FOR EACH STATEMENT EXECUTE FUNCTION optline_bump_keys_version()`,
      )
      .execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  for (const t of KEY_TABLES) {
    if (sqlite)
      for (const k of ['revoked', 'deleted']) await sql.raw(`DROP TRIGGER IF EXISTS ${t}_${k}_version`).execute(db);
    else await sql.raw(`DROP TRIGGER IF EXISTS ${t}_keys_version ON ${t}`).execute(db);
  }
  if (!sqlite) await sql.raw('DROP FUNCTION IF EXISTS optline_bump_keys_version()').execute(db);
  await db.schema.dropTable('cache_versions').ifExists().execute();
  await db.schema.dropTable('process_leases').ifExists().execute();
  await db.schema.dropTable('rate_limits').ifExists().execute();
}
