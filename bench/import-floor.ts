import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { newId } from '../src/lib/ids.js';
import type { Database } from '../src/storage/db.js';
import type { DB } from '../src/storage/schema.js';
import { tuneForImport, writeImport, type ImportWrites } from '../src/storage/consent/import-store.js';
import { importConsents } from '../src/services/import/import-consents.js';
import { hashFile } from '../src/services/import/import-file.js';
import { benchContext } from './lib.js';
import { seedImportBusiness, writeCsv } from './import.js';

/** People a real import writes first, read back as the template of every row the floor writes. */
const TEMPLATE = 500;

/**
 * The import's floor: what the database can write. The same rows an import writes (people, events, evidence,
 * states: cloned from a real import of a few hundred rows, with new ids, numbers and hashes of the same length)
 * go into the same tables with the same multi-row statements (writeImport), in transactions of `batch` people,
 * under the same SQLite settings as an import. Only the transactions are timed: no CSV, no parsing, no checks,
 * no hashing, no lookups. `database` must be migrated and is the caller's.
 */
export async function benchImportFloor(database: Database, rows: number, batch = 2000): Promise<{ seconds: number }> {
  const ctx = benchContext(database);
  const { businessId, textHash } = await seedImportBusiness(ctx);
  const dir = mkdtempSync(join(tmpdir(), 'optline-bench-floor-'));
  try {
    const file = join(dir, 'template.csv');
    await writeCsv(file, TEMPLATE);
    await importConsents(ctx, businessId, {
      file,
      fileName: 'template.csv',
      fileHash: await hashFile(file),
      actor: 'bench',
      defaultTextHash: textHash,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const db = database.db;
  const people = await db
    .selectFrom('people')
    .selectAll()
    .where('business_id', '=', businessId)
    .orderBy('id')
    .execute();
  const events = await db.selectFrom('consent_events').selectAll().where('business_id', '=', businessId).execute();
  const evidence = await db.selectFrom('consent_evidence').selectAll().where('business_id', '=', businessId).execute();
  const states = await db.selectFrom('consent_state').selectAll().where('business_id', '=', businessId).execute();
  if (people.length !== TEMPLATE) throw new Error(`bench import floor: template import wrote ${people.length} people`);
  const eventsOf = group(events, (e) => e.person_id);
  const evidenceOf = new Map(evidence.map((x) => [x.event_id, x]));
  const statesOf = group(states, (s) => s.person_id);

  const restore = tuneForImport(database);
  let timed = 0;
  try {
    for (let done = 0; done < rows; done += batch) {
      const w: ImportWrites = { people: [], events: [], evidence: [], states: [], messages: [] };
      for (let i = done; i < Math.min(rows, done + batch); i++)
        clonePerson(w, people[i % TEMPLATE]!, i, eventsOf, evidenceOf, statesOf);
      const t0 = performance.now();
      await database.transaction((trx) => writeImport(database, trx, w));
      timed += performance.now() - t0;
    }
  } finally {
    const t0 = performance.now();
    await restore();
    timed += performance.now() - t0;
  }
  return { seconds: timed / 1000 };
}

type Row<K extends keyof DB> = DB[K];

function clonePerson(
  w: ImportWrites,
  p: Row<'people'>,
  i: number,
  eventsOf: Map<string, Row<'consent_events'>[]>,
  evidenceOf: Map<string, Row<'consent_evidence'>>,
  statesOf: Map<string, Row<'consent_state'>[]>,
): void {
  const now = Date.now();
  const personId = newId('per', now);
  const hex = (s: string | null) =>
    s === null
      ? null
      : randomBytes(Math.ceil(s.length / 2))
          .toString('hex')
          .slice(0, s.length);
  const eventIds = new Map<string, string>();
  w.people.push({ ...p, id: personId, phone_e164: `+4475${String(10_000_000 + i)}`, chain_head: hex(p.chain_head) });
  for (const e of eventsOf.get(p.id) ?? []) {
    const id = newId('evt', now);
    eventIds.set(e.id, id);
    w.events.push({
      ...e,
      id,
      person_id: personId,
      source_ref: e.source_ref === null ? null : `floor:${i}:${e.seq}`,
      hash: hex(e.hash)!,
      prev_hash: hex(e.prev_hash),
    });
    const x = evidenceOf.get(e.id);
    if (x) w.evidence.push({ ...x, event_id: id });
  }
  for (const s of statesOf.get(p.id) ?? [])
    w.states.push({ ...s, person_id: personId, event_id: eventIds.get(s.event_id) ?? s.event_id });
}

function group<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}
