import type { Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Opt-in and opt-out off WhatsApp (hosted page, SMS, email, IVR). Portable types only; times are epoch ms;
// JSON is text; booleans are integers; every table leads with business_id.

export async function up(db: Kysely<any>): Promise<void> {
  // Per-business settings of the capture paths. No row means the defaults (ownership check on).
  await db.schema
    .createTable('capture_settings')
    .addColumn('business_id', 'text', (c) => c.primaryKey())
    .addColumn('ownership_check', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('default_country', 'text')
    .addColumn('whatsapp_number', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // A hosted-page opt-in waiting for the person to prove the number is theirs by sending a code from it
  // on WhatsApp. The code is kept only as a hash.
  await db.schema
    .createTable('ownership_requests')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('phone_e164', 'text', (c) => c.notNull())
    .addColumn('topic_keys', 'text', (c) => c.notNull())
    .addColumn('text_hash', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('evidence', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('redeemed_at', 'bigint')
    .addColumn('event_id', 'text')
    .addPrimaryKeyConstraint('ownership_requests_pk', ['business_id', 'id'])
    .addUniqueConstraint('ownership_requests_code', ['business_id', 'code_hash'])
    .execute();
  await db.schema
    .createIndex('ownership_requests_phone')
    .on('ownership_requests')
    .columns(['business_id', 'phone_e164'])
    .execute();

  // Invitations sent by SMS or email. An SMS keyword reply opts in to the topics of the latest one.
  await db.schema
    .createTable('invitations')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('phone_e164', 'text')
    .addColumn('email_hash', 'text')
    .addColumn('person_id', 'text')
    .addColumn('topic_keys', 'text', (c) => c.notNull())
    .addColumn('text_hash', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('message_body', 'text')
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('provider_message_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addPrimaryKeyConstraint('invitations_pk', ['business_id', 'id'])
    .execute();
  await db.schema
    .createIndex('invitations_phone')
    .on('invitations')
    .columns(['business_id', 'phone_e164', 'created_at'])
    .execute();

  // Addresses that used the one-click unsubscribe: no more invitation emails. Keyed hash, never the address.
  await db.schema
    .createTable('email_suppressions')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('email_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('email_suppressions_pk', ['business_id', 'email_hash'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['email_suppressions', 'invitations', 'ownership_requests', 'capture_settings']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
