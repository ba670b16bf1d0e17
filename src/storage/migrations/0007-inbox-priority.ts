import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// People's webhook items (messages, preference changes) are processed before status receipts (G2). The recovery
// pass lists pending rows of one kind at a time; this partial index holds only unprocessed rows, so finding the
// few pending messages behind a flood of pending statuses reads the messages only.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('inbox_pending_kind')
    .on('inbox')
    .columns(['kind', 'received_at', 'id'])
    .where(sql.ref('processed_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('inbox_pending_kind').execute();
}
