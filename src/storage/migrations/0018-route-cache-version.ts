import { sql, SqliteAdapter, type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
//
// Inbound routes are remembered by every process (storage/caches.ts `routes`): which business's channel account,
// with its app secret or auth token, answers for a WhatsApp phone_number_id or a Twilio number. Each process must
// see a change made through another, so every write of `channel_accounts` or `channel_routes` bumps the
// `cache_versions` row 'channel_routes' in its own transaction (the same pattern as 'api_keys', migration 0011),
// and the cache watch of each process drops its routes when the row moves. A trigger, so no write path, present or
// future, can forget it. Channel writes are rare administrative acts, so the shared row is never hot.
const TABLES = ['channel_accounts', 'channel_routes'] as const;
const BUMP = `UPDATE cache_versions SET version = version + 1 WHERE name = 'channel_routes'`;

export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await sql`INSERT INTO cache_versions (name, version) VALUES ('channel_routes', 0)`.execute(db);
  if (sqlite) {
    for (const t of TABLES)
      for (const op of ['INSERT', 'UPDATE', 'DELETE'])
        await sql
          .raw(`CREATE TRIGGER ${t}_${op.toLowerCase()}_routes_version AFTER ${op} ON ${t} BEGIN ${BUMP}; END`)
          .execute(db);
    return;
  }
  await sql
    .raw(
      `CREATE FUNCTION optline_bump_routes_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN ${BUMP}; RETURN NULL; END $$`,
    )
    .execute(db);
  for (const t of TABLES)
    await sql
      .raw(
        `CREATE TRIGGER ${t}_routes_version AFTER INSERT OR UPDATE OR DELETE ON ${t}
      FOR EACH STATEMENT EXECUTE FUNCTION optline_bump_routes_version()`,
      )
      .execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  for (const t of TABLES) {
    if (sqlite)
      for (const op of ['insert', 'update', 'delete'])
        await sql.raw(`DROP TRIGGER IF EXISTS ${t}_${op}_routes_version`).execute(db);
    else await sql.raw(`DROP TRIGGER IF EXISTS ${t}_routes_version ON ${t}`).execute(db);
  }
  if (!sqlite) await sql.raw('DROP FUNCTION IF EXISTS optline_bump_routes_version()').execute(db);
  await sql`DELETE FROM cache_versions WHERE name = 'channel_routes'`.execute(db);
}
