import type { Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// A message's history as times, not guesses: when it was claimed, when its provider call started and ended,
// and when (and why) it was cancelled. The status text of GET /v1/messages is derived from these.
// Rows written before this migration have NULL here: their history was not recorded.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('claimed_at', 'bigint').execute();
  await db.schema.alterTable('messages').addColumn('call_started_at', 'bigint').execute();
  await db.schema.alterTable('messages').addColumn('call_ended_at', 'bigint').execute();
  await db.schema.alterTable('messages').addColumn('cancelled_at', 'bigint').execute();
  await db.schema.alterTable('messages').addColumn('cancel_reason', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['cancel_reason', 'cancelled_at', 'call_ended_at', 'call_started_at', 'claimed_at']) {
    await db.schema.alterTable('messages').dropColumn(c).execute();
  }
}
