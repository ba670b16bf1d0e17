import { sql, SqliteAdapter, type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
//
// 1. `businesses.config_version`: a counter bumped in the same transaction as every write to what a gate
//    decision or a dispatch reads of a business (its policy and name, its topics, its opt-in texts, its channel
//    accounts). Caches key their entries by it and compare it on every use, so a change is seen by every
//    process as soon as its write commits. The bump is done by triggers, so no write path can forget it.
// 2. `consent_texts.channels`: the channels a text may be shown on (JSON array of web, whatsapp, sms, email,
//    app, ivr). Existing texts get the channels they are used on today: the phone menu's own texts (named
//    "ivr-prompt-<lang>") the phone only, every other text the written channels.

const WRITTEN = '["web","app","whatsapp","sms","email"]';
const CONFIG_TABLES = ['topics', 'consent_texts', 'channel_accounts'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .alterTable('businesses')
    .addColumn('config_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('consent_texts')
    .addColumn('channels', 'text', (c) => c.notNull().defaultTo(WRITTEN))
    .execute();
  await sql`UPDATE consent_texts SET channels = '["ivr"]' WHERE name LIKE 'ivr-prompt-%'`.execute(db);

  if (sqlite) {
    for (const t of CONFIG_TABLES) {
      for (const [op, row] of [
        ['INSERT', 'NEW'],
        ['UPDATE', 'NEW'],
        ['DELETE', 'OLD'],
      ] as const) {
        await sql
          .raw(
            `CREATE TRIGGER ${t}_config_${op.toLowerCase()} AFTER ${op} ON ${t} BEGIN
          UPDATE businesses SET config_version = config_version + 1 WHERE id = ${row}.business_id; END`,
          )
          .execute(db);
      }
    }
    // Only the columns a decision reads: bumping config_version itself does not fire it again.
    await sql
      .raw(
        `CREATE TRIGGER businesses_config_update AFTER UPDATE OF policy, display_name ON businesses
      WHEN NEW.policy IS NOT OLD.policy OR NEW.display_name IS NOT OLD.display_name BEGIN
      UPDATE businesses SET config_version = config_version + 1 WHERE id = NEW.id; END`,
      )
      .execute(db);
    return;
  }
  await sql
    .raw(
      `CREATE FUNCTION optline_bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE businesses SET config_version = config_version + 1
       WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.business_id ELSE NEW.business_id END;
      RETURN NULL;
    END $$`,
    )
    .execute(db);
  for (const t of CONFIG_TABLES) {
    await sql
      .raw(
        `CREATE TRIGGER ${t}_config_version AFTER INSERT OR UPDATE OR DELETE ON ${t}
      FOR EACH ROW EXECUTE FUNCTION optline_bump_config_version()`,
      )
      .execute(db);
  }
  await sql
    .raw(
      `CREATE FUNCTION optline_business_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.policy IS DISTINCT FROM OLD.policy OR NEW.display_name IS DISTINCT FROM OLD.display_name THEN
        NEW.config_version := OLD.config_version + 1;
      END IF;
      RETURN NEW;
    END $$`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER businesses_config_version BEFORE UPDATE ON businesses
    FOR EACH ROW EXECUTE FUNCTION optline_business_config_version()`,
    )
    .execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  if (sqlite) {
    for (const t of CONFIG_TABLES)
      for (const op of ['insert', 'update', 'delete'])
        await sql.raw(`DROP TRIGGER IF EXISTS ${t}_config_${op}`).execute(db);
    await sql.raw('DROP TRIGGER IF EXISTS businesses_config_update').execute(db);
  } else {
    for (const t of CONFIG_TABLES) await sql.raw(`DROP TRIGGER IF EXISTS ${t}_config_version ON ${t}`).execute(db);
    await sql.raw('DROP TRIGGER IF EXISTS businesses_config_version ON businesses').execute(db);
    await sql.raw('DROP FUNCTION IF EXISTS optline_bump_config_version()').execute(db);
    await sql.raw('DROP FUNCTION IF EXISTS optline_business_config_version()').execute(db);
  }
  await db.schema.alterTable('consent_texts').dropColumn('channels').execute();
  await db.schema.alterTable('businesses').dropColumn('config_version').execute();
}
