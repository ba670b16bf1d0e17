import type { Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
//
// 1. `consent_events.occurred_precision_ms`: the precision of `occurred_at` as its source gave it (Meta's
//    webhooks: whole seconds, 1000; the API and receipt-stamped channels: 1). The projection compares events
//    at that precision and, within it, lets an opt-out win (domain/consent.ts orderKey). Events recorded
//    before this migration keep NULL (compared as exact, as they were) and their hashes are unchanged: the
//    canonical form covers the column only when it is set.
// 2. `people.cond_key`: the newest order key among the person's conditional events (Confirm, START). An event
//    that sorts before it is projected by replaying the person's events instead of stepping the state, so the
//    outcome does not depend on the order of arrival.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('consent_events').addColumn('occurred_precision_ms', 'integer').execute();
  await db.schema.alterTable('people').addColumn('cond_key', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('people').dropColumn('cond_key').execute();
  await db.schema.alterTable('consent_events').dropColumn('occurred_precision_ms').execute();
}
