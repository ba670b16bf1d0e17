import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Tamper evidence above the person: a per-business chain of seals (services/seal-ledger.ts) and the chain
// heads the newest seal covers. Every table and unique index leads with business_id (distributable by business).
//
// Events written before this migration carry unkeyed SHA-256 hashes. For each business that has some, a
// seal 0 ("legacy") records how many there are and the newest one's time: verify accepts an unkeyed hash only
// within that allowance, and the first keyed seal chains to seal 0, so the allowance cannot grow afterwards.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ledger_seals')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('scheme', 'text', (c) => c.notNull())
    .addColumn('sealed_at', 'bigint', (c) => c.notNull())
    .addColumn('people', 'bigint', (c) => c.notNull())
    .addColumn('events', 'bigint', (c) => c.notNull())
    .addColumn('legacy_events', 'bigint', (c) => c.notNull())
    .addColumn('legacy_until', 'bigint')
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('changed', 'bigint', (c) => c.notNull())
    .addColumn('scan_mark', 'bigint')
    .addColumn('prev_hash', 'text')
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ledger_seals_pk', ['business_id', 'seq'])
    .execute();

  await db.schema
    .createTable('ledger_heads')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('chain_seq', 'integer', (c) => c.notNull())
    .addColumn('chain_head', 'text', (c) => c.notNull())
    .addColumn('seal_seq', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('ledger_heads_pk', ['business_id', 'person_id'])
    .execute();

  const legacy = await db
    .selectFrom('consent_events')
    .select((eb) => ['business_id', eb.fn.countAll().as('n'), eb.fn.max('recorded_at').as('until')])
    .groupBy('business_id')
    .execute();
  const now = Date.now();
  for (const r of legacy as { business_id: string; n: number | string; until: number | string }[]) {
    const row = {
      business_id: r.business_id,
      seq: 0,
      scheme: 'legacy',
      sealed_at: now,
      people: 0,
      events: 0,
      legacy_events: Number(r.n),
      legacy_until: Number(r.until),
      digest: '',
      changed: 0,
      scan_mark: null,
      prev_hash: null,
    };
    // The same canonical form as services/seal-ledger.ts (sealCanonical); seal 0 alone is unkeyed.
    const canonical = JSON.stringify([
      'optline-seal',
      row.business_id,
      row.seq,
      row.scheme,
      row.sealed_at,
      row.people,
      row.events,
      row.legacy_events,
      row.legacy_until,
      row.digest,
      row.changed,
      row.scan_mark,
      row.prev_hash,
    ]);
    await db
      .insertInto('ledger_seals')
      .values({ ...row, hash: createHash('sha256').update(canonical).digest('hex') })
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ledger_heads').execute();
  await db.schema.dropTable('ledger_seals').execute();
}
