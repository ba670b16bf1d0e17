import { type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Issue 11. Business keys get a role; every key that existed is `write` (see domain/access/roles.ts).
// Reports read the ledger by when people acted: (business_id, occurred_at) with the columns the counts group
// by, so a 30-day report reads the index only. Refusals read messages by status and the time they were settled
// (updated_at).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('api_keys')
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('write'))
    .execute();
  await db.schema
    .createIndex('consent_events_occurred')
    .on('consent_events')
    .columns(['business_id', 'occurred_at', 'type', 'channel', 'action'])
    .execute();
  await db.schema
    .createIndex('messages_status_updated')
    .on('messages')
    .columns(['business_id', 'status', 'updated_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_status_updated').execute();
  await db.schema.dropIndex('consent_events_occurred').execute();
  await db.schema.alterTable('api_keys').dropColumn('role').execute();
}
