/**
 * The opt-in's reads and writes on SQLite: prepared statements on the raw handle, run synchronously inside the
 * transaction Kysely holds (storage/sqlite/opt-in-writer.ts). The PostgreSQL form is storage/consent/opt-in-store.ts.
 */
import type { Statement } from 'better-sqlite3';
import { preparedOn, type Database } from '../db.js';
import { deliveryOfLedgerEvent, enqueueSqliteStatement } from '../webhooks/delivery-enqueue.js';
import { keyColumn, type PersonKey, type PersonRow } from '../consent/people-store.js';
import type { DB } from '../schema.js';
import { historyOf, STOP_KEY_SQL, type EventRow } from '../consent/consent-store.js';
import { EVENT_COLUMNS, HISTORY_SELECT, MESSAGE_COLUMNS, PEOPLE_COLUMNS, toStates } from '../consent/opt-in-store.js';
import type { ChecksArgs, OptInChecks, OptInPerson, OptInWrite } from '../consent/opt-in-store.js';

const SQLITE = {
  business: 'SELECT * FROM businesses WHERE id = ?',
  topics: 'SELECT * FROM topics WHERE business_id = ? AND key IN (SELECT value FROM json_each(?))',
  text: 'SELECT usable, topic_keys FROM consent_texts WHERE business_id = ? AND hash = ?',
  suppressed: 'SELECT 1 FROM suppressions WHERE business_id = ? AND phone_hash = ?',
  duplicate: 'SELECT * FROM consent_events WHERE business_id = ? AND source_ref = ?',
  states: 'SELECT topic_id, status, decided_at, event_id FROM consent_state WHERE business_id = ? AND person_id = ?',
  lastStop: `SELECT ${STOP_KEY_SQL} AS occurred_at, id FROM consent_events WHERE business_id = ? AND person_id = ? AND type = 'opt_out' AND scope = 'all'
    ORDER BY 1 DESC LIMIT 1`,
  history: `SELECT ${HISTORY_SELECT.replaceAll('e.', '')} FROM consent_events WHERE business_id = ? AND person_id = ?`,
  insertPerson: `INSERT INTO people (${PEOPLE_COLUMNS.join(', ')}) VALUES (${PEOPLE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`,
  updatePerson: `UPDATE people SET chain_seq = ?, chain_head = ?, updated_at = ?, wa_id = ?, bsuid = ?, cond_key = ?
    WHERE business_id = ? AND id = ? AND chain_seq = ? AND updated_at = ?`,
  insertEvent: `INSERT INTO consent_events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`,
  insertEvidence: 'INSERT INTO consent_evidence (business_id, event_id, evidence) VALUES (?, ?, ?)',
  upsertState: `INSERT INTO consent_state (business_id, person_id, topic_id, status, decided_at, event_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (business_id, person_id, topic_id) DO UPDATE
    SET status = excluded.status, decided_at = excluded.decided_at, event_id = excluded.event_id, updated_at = excluded.updated_at`,
  insertMessage: `INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')})`,
  deleteSuppression: 'DELETE FROM suppressions WHERE business_id = ? AND phone_hash = ?',
} as const;

const st = (database: Database, text: string): Statement => preparedOn(database.sqlite!, text);
const stmt = (database: Database, k: keyof typeof SQLITE) => st(database, SQLITE[k]);

// These run synchronously on the raw handle: the caller holds SQLite's one connection (a transaction).

export function sqliteReadChecks(database: Database, a: ChecksArgs): OptInChecks {
  const b = a.businessId;
  return {
    business: (stmt(database, 'business').get(b) as DB['businesses'] | undefined) ?? null,
    topics: stmt(database, 'topics').all(b, JSON.stringify(a.topicKeys)) as DB['topics'][],
    text: a.textHash ? ((stmt(database, 'text').get(b, a.textHash) as OptInChecks['text'] | undefined) ?? null) : null,
    suppressed: a.phoneHash ? stmt(database, 'suppressed').get(b, a.phoneHash) !== undefined : false,
    duplicate: a.sourceRef ? ((stmt(database, 'duplicate').get(b, a.sourceRef) as EventRow | undefined) ?? null) : null,
  };
}

export function sqliteReadPerson(
  database: Database,
  businessId: string,
  key: PersonKey,
  wantHistory = false,
): OptInPerson {
  const [col, val] = keyColumn(key);
  const person =
    (st(database, `SELECT * FROM people WHERE business_id = ? AND ${col} = ?`).get(businessId, val) as
      PersonRow | undefined) ?? null;
  if (!person) return { person, states: new Map(), lastStop: null, history: wantHistory ? [] : null };
  const history =
    wantHistory || (person.cond_key !== null && person.cond_key !== undefined)
      ? (stmt(database, 'history').all(businessId, person.id) as Parameters<typeof historyOf>[0][]).map(historyOf)
      : null;
  const rows = stmt(database, 'states').all(businessId, person.id) as {
    topic_id: string;
    status: string;
    decided_at: number;
    event_id: string;
  }[];
  const stop = stmt(database, 'lastStop').get(businessId, person.id) as { occurred_at: number; id: string } | undefined;
  return {
    person,
    states: toStates(rows.map((r) => [r.topic_id, r.status, r.decided_at, r.event_id])),
    lastStop: stop ? { at: Number(stop.occurred_at), eventId: stop.id } : null,
    history,
  };
}

/** The same writes as `pgWrite`, one prepared statement each; false (nothing written) when not as planned. */
export function sqliteWrite(database: Database, w: OptInWrite): boolean {
  const row = w.person.row;
  const e = w.event;
  const r = w.person.isNew
    ? stmt(database, 'insertPerson').run(...PEOPLE_COLUMNS.map((c) => row[c]))
    : stmt(database, 'updatePerson').run(
        row.chain_seq,
        row.chain_head,
        row.updated_at,
        row.wa_id,
        row.bsuid,
        row.cond_key ?? null,
        row.business_id,
        row.id,
        w.person.expect.chainSeq,
        w.person.expect.updatedAt,
      );
  if (r.changes !== 1) return false;
  stmt(database, 'insertEvent').run(...EVENT_COLUMNS.map((c) => e[c]));
  stmt(database, 'insertEvidence').run(e.business_id, e.id, w.evidence);
  for (const s of w.states)
    stmt(database, 'upsertState').run(e.business_id, row.id, s.topicId, s.status, s.decidedAt, s.eventId, w.now);
  if (w.message) stmt(database, 'insertMessage').run(...MESSAGE_COLUMNS.map((c) => w.message![c]));
  if (w.liftSuppression) stmt(database, 'deleteSuppression').run(e.business_id, w.liftSuppression);
  const hook = deliveryOfLedgerEvent(e);
  if (hook) {
    const h = enqueueSqliteStatement(hook);
    st(database, h.text).run(...h.values);
  }
  return true;
}
