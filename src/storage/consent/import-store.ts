import { sql } from 'kysely';
import type { TopicState } from '../../domain/consent/model.js';
import { bulkInsert, type BulkTable } from '../bulk-insert.js';
import { EVENT_COLUMNS, MESSAGE_COLUMNS, numericColumns, PEOPLE_COLUMNS } from '../columns.js';
import type { Database, Trx } from '../db.js';
import { syncLog } from '../sqlite/deferred-sync.js';
import type { EventRow } from './consent-store.js';
import type { PersonRow } from './people-store.js';
import type { DB } from '../schema.js';

/**
 * Set-based reads and multi-row writes for the bulk import: the same rows the per-event stores read and write
 * (people-store, consent-store, outbox-store), for a whole batch of people in a few statements.
 */

// Far below both databases' parameter limits; a batch is usually one query per kind.
const IN_LIST = 5000;

function* chunks<T>(xs: readonly T[]): Generator<T[]> {
  for (let i = 0; i < xs.length; i += IN_LIST) yield xs.slice(i, i + IN_LIST);
}

export async function existingSourceRefs(trx: Trx, businessId: string, refs: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(refs)) {
    const rows = await trx
      .selectFrom('consent_events')
      .select('source_ref')
      .where('business_id', '=', businessId)
      .where('source_ref', 'in', part)
      .execute();
    for (const r of rows) found.add(r.source_ref!);
  }
  return found;
}

// Up to this many suppressions, a batch reads them all instead of looking up each of its numbers.
const FEW_SUPPRESSIONS = 1000;

export async function suppressedPhoneHashes(
  trx: Trx,
  businessId: string,
  hashes: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  // Most businesses have erased few people, if any: one short read beats probing thousands of hashes.
  const few = await trx
    .selectFrom('suppressions')
    .select('phone_hash')
    .where('business_id', '=', businessId)
    .limit(FEW_SUPPRESSIONS + 1)
    .execute();
  if (few.length <= FEW_SUPPRESSIONS) {
    const all = new Set(few.map((r) => r.phone_hash));
    for (const h of hashes) if (all.has(h)) found.add(h);
    return found;
  }
  for (const part of chunks(hashes)) {
    const rows = await trx
      .selectFrom('suppressions')
      .select('phone_hash')
      .where('business_id', '=', businessId)
      .where('phone_hash', 'in', part)
      .execute();
    for (const r of rows) found.add(r.phone_hash);
  }
  return found;
}

/**
 * How many import batches may be in flight at once: two on PostgreSQL (many connections; batches with no
 * number in common), one on SQLite (one writer, batches commit in file order).
 */
export const importWriteLanes = (database: Database): number => (database.caps.concurrentWriters ? 2 : 1);

/**
 * The people with these numbers, locked for the rest of the transaction where the database has row locks (as
 * lockOrCreatePerson does one at a time). Locks are taken in id order so two importers cannot deadlock.
 */
export async function lockPeopleByPhone(
  database: Database,
  trx: Trx,
  businessId: string,
  phones: readonly string[],
): Promise<Map<string, PersonRow>> {
  const found = new Map<string, PersonRow>();
  for (const part of chunks(phones)) {
    let q = trx.selectFrom('people').selectAll().where('business_id', '=', businessId).where('phone_e164', 'in', part);
    // Only with row locks: on SQLite the ORDER BY would turn the phone-index search into a scan of all people.
    if (database.caps.rowLocks) q = q.orderBy('id').forUpdate();
    for (const p of await q.execute()) found.set(p.phone_e164!, p);
  }
  return found;
}

/** consent_state of these people, keyed by stateKey(person, topic). */
export async function statesOf(
  trx: Trx,
  businessId: string,
  personIds: readonly string[],
): Promise<Map<string, TopicState>> {
  const states = new Map<string, TopicState>();
  for (const part of chunks(personIds)) {
    const rows = await trx
      .selectFrom('consent_state')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('person_id', 'in', part)
      .execute();
    for (const r of rows)
      states.set(stateKey(r.person_id, r.topic_id), {
        status: r.status as TopicState['status'],
        decidedAt: Number(r.decided_at),
        eventId: r.event_id,
      });
  }
  return states;
}

export const stateKey = (personId: string, topicId: string) => `${personId} ${topicId}`;

/** Each person's newest "stop everything" (consent-store's lastStopAll, for many people at once). */
export async function lastStopsAll(
  trx: Trx,
  businessId: string,
  personIds: readonly string[],
): Promise<Map<string, { at: number; eventId: string }>> {
  const stops = new Map<string, { at: number; eventId: string }>();
  for (const part of chunks(personIds)) {
    const rows = await trx
      .selectFrom('consent_events')
      .select(['person_id', 'occurred_at', 'id'])
      .where('business_id', '=', businessId)
      .where('person_id', 'in', part)
      .where('type', '=', 'opt_out')
      .where('scope', '=', 'all')
      .execute();
    for (const r of rows) {
      const at = Number(r.occurred_at);
      const cur = stops.get(r.person_id);
      if (!cur || cur.at < at) stops.set(r.person_id, { at, eventId: r.id });
    }
  }
  return stops;
}

// A new person's conditional key and an event's precision are left to their defaults (an import writes neither).
const PEOPLE_IMPORTED = PEOPLE_COLUMNS.filter((c) => c !== 'cond_key');
const PEOPLE: BulkTable<'people'> = {
  table: 'people',
  columns: PEOPLE_IMPORTED,
  // A person already there only moves their chain head (as appendEvent does); a new one is inserted whole.
  // A number created meanwhile by someone else still violates people_phone, and the batch is run again.
  integers: numericColumns(PEOPLE_IMPORTED),
  upsert: { key: ['business_id', 'id'], set: ['chain_seq', 'chain_head', 'updated_at'] },
};
const EVENTS_IMPORTED = EVENT_COLUMNS.filter((c) => c !== 'occurred_precision_ms');
const EVENTS: BulkTable<'consent_events'> = {
  table: 'consent_events',
  columns: EVENTS_IMPORTED,
  integers: numericColumns(EVENTS_IMPORTED),
};
const EVIDENCE: BulkTable<'consent_evidence'> = {
  table: 'consent_evidence',
  columns: ['business_id', 'event_id', 'evidence'],
  integers: [],
};
const STATES: BulkTable<'consent_state'> = {
  table: 'consent_state',
  columns: ['business_id', 'person_id', 'topic_id', 'status', 'decided_at', 'event_id', 'updated_at'],
  integers: ['decided_at', 'updated_at'],
  upsert: { key: ['business_id', 'person_id', 'topic_id'], set: ['status', 'decided_at', 'event_id', 'updated_at'] },
};
const MESSAGES: BulkTable<'messages'> = {
  table: 'messages',
  columns: [...MESSAGE_COLUMNS],
  integers: numericColumns(MESSAGE_COLUMNS),
};

export interface ImportWrites {
  people: PersonRow[];
  events: EventRow[];
  evidence: DB['consent_evidence'][];
  /** Final state per (person, topic): one row per key, as one INSERT ... ON CONFLICT may touch a row only once. */
  states: DB['consent_state'][];
  messages: DB['messages'][];
}

/** People first: a unique violation there (someone else created the number) aborts before anything else. */
export async function writeImport(database: Database, trx: Trx, w: ImportWrites): Promise<void> {
  await bulkInsert(database, trx, PEOPLE, w.people);
  await bulkInsert(database, trx, EVENTS, w.events);
  await bulkInsert(database, trx, EVIDENCE, w.evidence);
  await bulkInsert(database, trx, STATES, w.states);
  await bulkInsert(database, trx, MESSAGES, w.messages);
}

/**
 * PostgreSQL plans the batch lookups above from table statistics. A first import into a fresh install grows
 * people and consent_events from nothing much faster than autovacuum samples them, and without statistics
 * every index that starts with business_id looks alike: the lookups by phone and by source_ref were planned
 * as scans of the whole business, every batch (a million rows took minutes). Statistics taken once the
 * first rows are in know those columns are unique, and keep holding as the tables grow. SQLite picks the
 * unique indexes without statistics.
 */
export async function refreshStatistics(database: Database): Promise<void> {
  if (database.dialect !== 'postgres') return;
  try {
    await sql`analyze people`.execute(database.db);
    await sql`analyze consent_events`.execute(database.db);
  } catch {
    // Not the tables' owner: the import still runs, planned as well as autovacuum's statistics allow.
  }
}

/**
 * SQLite settings for the length of an import, restored by the function returned.
 *
 * Checkpoints: SQLite copies the write-ahead log into the database file every 1,000 pages by default, in the
 * committing connection. An import commits a batch every few thousand rows and touches the same index pages batch
 * after batch, so it would copy those pages back again and again (the import slowed down as the tables grew).
 * While it runs the log may grow to 64 MiB between checkpoints.
 *
 * Syncing: with `synchronous=FULL` every batch's commit waits for an fsync of the log, and the main thread (which
 * does all the database work) waits with it. A batch is nobody's acknowledgement: the import reports only at the
 * end, and re-running a file skips what is already there. So batches commit with `synchronous=NORMAL` (still
 * atomic and consistent; only a power cut could undo the latest batches), and before the import reports, success
 * or failure, the log is fsynced once: everything it committed is then as durable as a FULL commit. Nothing else
 * shares this connection meanwhile (`optline import` is a process of its own).
 *
 * Page cache: the connection's 64 MiB cache serves the console's reads; a bulk load fills all of it with pages it
 * will not read again (the tables soon outgrow it, and the operating system caches the file anyway). 16 MiB
 * while importing: a 300,000-row import peaked 55 MB lower, in the same time.
 */
export function tuneForImport(database: Database): () => Promise<void> {
  const raw = database.sqlite;
  if (!raw) return async () => {};
  const checkpointEvery = Number(raw.pragma('wal_autocheckpoint', { simple: true }));
  const synchronous = Number(raw.pragma('synchronous', { simple: true }));
  const cacheSize = Number(raw.pragma('cache_size', { simple: true }));
  raw.pragma('wal_autocheckpoint = 16384');
  raw.pragma('synchronous = NORMAL');
  raw.pragma(`cache_size = ${Math.max(cacheSize, -16_384)}`);
  return async () => {
    raw.pragma(`synchronous = ${synchronous}`);
    raw.pragma(`wal_autocheckpoint = ${checkpointEvery}`);
    raw.pragma(`cache_size = ${cacheSize}`);
    await syncLog(raw);
    raw.pragma('wal_checkpoint(PASSIVE)');
  };
}
