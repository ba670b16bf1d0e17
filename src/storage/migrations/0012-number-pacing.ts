import { type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
//
// Send pacing shared by every dispatch worker (storage/dispatch/number-pacing-store.ts):
// - number_pacing: one row per business number, the GCRA state of its send rate (theoretical arrival time `tat`,
//   in ms with fractions, and the effective rate, lowered by a 130429 and climbing back), and how long the number
//   is paused (130429, account errors). A claim takes the row FOR UPDATE and reserves the slots of what it leases,
//   so the claims of one number (one business) are serialised across workers: caps are counted exactly.
// - recipient_pacing: a 131056 (pair rate) penalty per person, read at claim by every worker.
// - messages_business_due: the claim reads one business's due messages (business_id first, Citus-distributable).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('number_pacing')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('phone_number_id', 'text', (c) => c.notNull())
    .addColumn('tat', 'double precision', (c) => c.notNull())
    .addColumn('rate', 'double precision', (c) => c.notNull())
    .addColumn('configured', 'double precision', (c) => c.notNull())
    .addColumn('adjusted_at', 'bigint', (c) => c.notNull())
    .addColumn('slowed_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('paused_until', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('number_pacing_pk', ['business_id', 'phone_number_id'])
    .execute();
  await db.schema
    .createTable('recipient_pacing')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('ready_at', 'bigint', (c) => c.notNull())
    .addColumn('strikes', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('recipient_pacing_pk', ['business_id', 'person_id'])
    .execute();
  await db.schema
    .createIndex('messages_business_due')
    .on('messages')
    .columns(['business_id', 'status', 'not_before'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_business_due').execute();
  await db.schema.dropTable('recipient_pacing').ifExists().execute();
  await db.schema.dropTable('number_pacing').ifExists().execute();
}
