import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
//
// Distributable by business (Citus: create_distributed_table(…, 'business_id'), see docs/scale-out.md): a
// distributed table's unique indexes must all include its distribution column, and two did not.
// - api_keys_hash (key_hash): a key is authenticated before its business is known. The global lookup moves
//   to `key_lookup` (key_hash → business_id, key_id), a small reference table written in the key's transaction;
//   the key's row is then read by its primary key (business_id, id).
// - channel_accounts_external (provider, external_id): inbound webhooks are routed by a WhatsApp phone_number_id
//   or a Twilio number before their business is known. The lookup, and the rule that one number belongs to one
//   business, move to `channel_routes` ((provider, external_id) → business_id, account_id), written in the
//   account's transaction.
// Claims find the businesses with due work first and then claim per business: the per-business indexes below.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('key_lookup')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO key_lookup (key_hash, business_id, key_id)
    SELECT key_hash, business_id, id FROM api_keys`.execute(db);
  await db.schema.dropIndex('api_keys_hash').execute();

  await db.schema
    .createTable('channel_routes')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_routes_pk', ['provider', 'external_id'])
    .execute();
  await sql`INSERT INTO channel_routes (provider, external_id, business_id, account_id)
    SELECT provider, external_id, business_id, id FROM channel_accounts WHERE external_id IS NOT NULL`.execute(db);
  // An account's route is replaced when its number changes: found by the account.
  await db.schema
    .createIndex('channel_routes_account')
    .on('channel_routes')
    .columns(['business_id', 'account_id'])
    .execute();
  await db.schema.dropIndex('channel_accounts_external').execute();

  // Per-business claims: a business's due deliveries, and its pending inbox rows of one kind, oldest first.
  await sql`CREATE INDEX webhook_deliveries_due_business ON webhook_deliveries (business_id, next_attempt_at)
    WHERE status = 'pending'`.execute(db);
  await db.schema
    .createIndex('inbox_pending_business')
    .on('inbox')
    .columns(['business_id', 'kind', 'received_at', 'id'])
    .where(sql.ref('processed_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('inbox_pending_business').execute();
  await db.schema.dropIndex('webhook_deliveries_due_business').execute();
  await db.schema
    .createIndex('channel_accounts_external')
    .on('channel_accounts')
    .columns(['provider', 'external_id'])
    .unique()
    .execute();
  await db.schema.dropTable('channel_routes').execute();
  await db.schema.createIndex('api_keys_hash').on('api_keys').column('key_hash').unique().execute();
  await db.schema.dropTable('key_lookup').execute();
}
