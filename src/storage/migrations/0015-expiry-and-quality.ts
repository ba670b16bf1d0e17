import { type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Issue 14 (consent that expires, and the quality guard).
// 1. consent_state is read by status and age by the expiry sweep (services/consent/expire-consents.ts).
// 2. consent_reprompts: one row per re-permission prompt, keyed by the decision it asks to renew, so the
//    sweep never asks twice for the same consent.
// 3. quality_events: Meta's phone_number_quality_update, message_template_status_update,
//    template_category_update and message_template_quality_update webhooks, as received (shown in the console).
// 4. template_health: the current state of each template of a business (paused by Meta or by the opt-out
//    guard, resumed by staff). A write bumps businesses.config_version in its transaction (the gate's cache).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('consent_state_status_age')
    .on('consent_state')
    .columns(['business_id', 'status', 'decided_at'])
    .execute();
  await db.schema
    .createTable('consent_reprompts')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('topic_keys', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('consent_reprompts_pk', ['business_id', 'person_id', 'event_id'])
    .execute();
  await db.schema
    .createTable('quality_events')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('source_ref', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('quality_events_pk', ['business_id', 'id'])
    .addUniqueConstraint('quality_events_source', ['business_id', 'source_ref'])
    .execute();
  await db.schema
    .createIndex('quality_events_kind')
    .on('quality_events')
    .columns(['business_id', 'kind', 'received_at'])
    .execute();
  await db.schema
    .createTable('template_health')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('paused_by', 'text')
    .addColumn('reason', 'text')
    .addColumn('meta_status', 'text')
    .addColumn('meta_quality', 'text')
    .addColumn('category', 'text')
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('paused_at', 'bigint')
    .addColumn('resumed_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('template_health_pk', ['business_id', 'name'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('template_health').execute();
  await db.schema.dropIndex('quality_events_kind').execute();
  await db.schema.dropTable('quality_events').execute();
  await db.schema.dropTable('consent_reprompts').execute();
  await db.schema.dropIndex('consent_state_status_age').execute();
}
