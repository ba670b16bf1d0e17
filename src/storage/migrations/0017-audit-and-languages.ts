import { type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Issue 11, the console's remaining parts.
// 1. `topics.names`: a topic's name in other languages (JSON object, language -> name); `name` stays the default.
// 2. `audit_log`: every console / API admin action, with the key that did it, written in the action's transaction.
//    Keyed by business first; read newest first per business (the id is time-ordered).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('topics').addColumn('names', 'text').execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo('{}'))
    .addPrimaryKeyConstraint('audit_log_pk', ['business_id', 'id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.alterTable('topics').dropColumn('names').execute();
}
