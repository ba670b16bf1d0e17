import { type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Issue 14. A person may choose their own time zone (API, preference page): when they did, `people.timezone` is
// theirs and nothing derived from their number replaces it. Null: the zone came from the number (or none did).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('people').addColumn('timezone_chosen_at', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('people').dropColumn('timezone_chosen_at').execute();
}
