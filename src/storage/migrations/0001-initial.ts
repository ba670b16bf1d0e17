import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Portable types only (text, integer, bigint) so one migration serves SQLite and PostgreSQL.
// Times are epoch milliseconds (bigint); JSON is stored as text; booleans as integers.
// Every tenant table leads with business_id so it can later be distributed by business.

// Write cost per row is mostly index maintenance (an import writes a million people, events and messages):
// a unique or lookup index over a column that is often NULL is partial (`WHERE col IS NOT NULL`), so rows without
// a value pay nothing. Every query that uses one compares the column to a value, which implies NOT NULL and lets
// both databases use the partial index. (SQLite's WITHOUT ROWID tables were measured too: slower for the import.)
export async function up(db: Kysely<any>): Promise<void> {
  const partialUnique = async (name: string, table: string, columns: string[], notNull: string) => {
    await db.schema
      .createIndex(name)
      .on(table)
      .columns(columns)
      .unique()
      .where(sql.ref(notNull), 'is not', null)
      .execute();
  };
  const partial = async (name: string, table: string, columns: string[], notNull: string) => {
    await db.schema.createIndex(name).on(table).columns(columns).where(sql.ref(notNull), 'is not', null).execute();
  };
  await db.schema
    .createTable('businesses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // Platform keys (create businesses) are not tenant data: a small reference table of their own.
  await db.schema
    .createTable('admin_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addPrimaryKeyConstraint('api_keys_pk', ['business_id', 'id'])
    .execute();
  await db.schema.createIndex('api_keys_hash').on('api_keys').column('key_hash').unique().execute();

  await db.schema
    .createTable('topics')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('archived_at', 'bigint')
    .addPrimaryKeyConstraint('topics_pk', ['business_id', 'id'])
    .addUniqueConstraint('topics_key', ['business_id', 'key'])
    .execute();

  await db.schema
    .createTable('consent_texts')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('topic_keys', 'text', (c) => c.notNull())
    .addColumn('checks', 'text', (c) => c.notNull())
    .addColumn('usable', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('consent_texts_pk', ['business_id', 'hash'])
    .addUniqueConstraint('consent_texts_version', ['business_id', 'name', 'version'])
    .execute();

  await db.schema
    .createTable('people')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('phone_e164', 'text')
    .addColumn('wa_id', 'text')
    .addColumn('bsuid', 'text')
    .addColumn('country', 'text')
    .addColumn('language', 'text')
    .addColumn('timezone', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('erased_at', 'bigint')
    .addColumn('last_inbound_at', 'bigint')
    .addColumn('unreachable_at', 'bigint')
    .addColumn('chain_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('chain_head', 'text')
    .addPrimaryKeyConstraint('people_pk', ['business_id', 'id'])
    .execute();
  // Erased people keep their row without a number; WhatsApp ids and BSUIDs are known only for some people.
  await partialUnique('people_phone', 'people', ['business_id', 'phone_e164'], 'phone_e164');
  await partialUnique('people_wa_id', 'people', ['business_id', 'wa_id'], 'wa_id');
  await partialUnique('people_bsuid', 'people', ['business_id', 'bsuid'], 'bsuid');

  await db.schema
    .createTable('suppressions')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('phone_hash', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('suppressions_pk', ['business_id', 'phone_hash'])
    .execute();

  await db.schema
    .createTable('consent_events')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('topic_keys', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('text_hash', 'text')
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .addColumn('source_ref', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('evidence_hash', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text')
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('consent_events_pk', ['business_id', 'id'])
    .addUniqueConstraint('consent_events_seq', ['business_id', 'person_id', 'seq'])
    .execute();
  // Only events from an outside source (a webhook item, an import row) carry a reference to deduplicate on.
  await partialUnique('consent_events_source', 'consent_events', ['business_id', 'source_ref'], 'source_ref');
  await db.schema
    .createIndex('consent_events_recorded')
    .on('consent_events')
    .columns(['business_id', 'recorded_at'])
    .execute();

  // Evidence is personal data: kept apart so erasure can delete it while the event chain (which covers only
  // its hash) stays verifiable.
  await db.schema
    .createTable('consent_evidence')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('evidence', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('consent_evidence_pk', ['business_id', 'event_id'])
    .execute();

  await db.schema
    .createTable('consent_state')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('topic_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'bigint', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('consent_state_pk', ['business_id', 'person_id', 'topic_id'])
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('topic_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('related_event_id', 'text')
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('provider_message_id', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_detail', 'text')
    .addColumn('status_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addPrimaryKeyConstraint('messages_pk', ['business_id', 'id'])
    .execute();
  await partialUnique('messages_idempotency', 'messages', ['business_id', 'idempotency_key'], 'idempotency_key');
  await db.schema.createIndex('messages_due').on('messages').columns(['status', 'not_before']).execute();
  await db.schema
    .createIndex('messages_person')
    .on('messages')
    .columns(['business_id', 'person_id', 'status'])
    .execute();
  // The frequency caps count sent messages; status webhooks find a message by the provider's id.
  await partial('messages_sent', 'messages', ['business_id', 'person_id', 'sent_at'], 'sent_at');
  await partial('messages_provider', 'messages', ['provider_message_id'], 'provider_message_id');

  // Webhook inbox: every item is stored (deduplicated by the provider's id) before the provider gets its 200.
  await db.schema
    .createTable('inbox')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('processed_at', 'bigint')
    .addColumn('outcome', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('inbox_pk', ['business_id', 'id'])
    .addUniqueConstraint('inbox_dedupe', ['business_id', 'dedupe_key'])
    .execute();
  await db.schema.createIndex('inbox_pending').on('inbox').columns(['processed_at', 'received_at']).execute();

  await db.schema
    .createTable('channel_accounts')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text') // WhatsApp phone_number_id, Twilio number, ...
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('secret_sealed', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_accounts_pk', ['business_id', 'id'])
    .execute();
  await db.schema
    .createIndex('channel_accounts_external')
    .on('channel_accounts')
    .columns(['provider', 'external_id'])
    .unique()
    .execute();

  // Chat messages that mention a keyword inside a sentence: shown to staff, never acted on by themselves.
  await db.schema
    .createTable('review_items')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text')
    .addColumn('source_ref', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .addColumn('resolution', 'text')
    .addPrimaryKeyConstraint('review_items_pk', ['business_id', 'id'])
    .addUniqueConstraint('review_items_source', ['business_id', 'source_ref'])
    .execute();

  // Single-use signed links (email invitations): a token id is spent once.
  await db.schema
    .createTable('used_tokens')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('used_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('used_tokens_pk', ['business_id', 'token_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'used_tokens',
    'review_items',
    'channel_accounts',
    'inbox',
    'messages',
    'consent_state',
    'consent_evidence',
    'consent_events',
    'suppressions',
    'people',
    'consent_texts',
    'topics',
    'api_keys',
    'admin_keys',
    'businesses',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
