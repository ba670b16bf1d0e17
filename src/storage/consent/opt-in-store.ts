import { CompiledQuery, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { Database } from '../db.js';
import { keyColumn, type PersonKey, type PersonRow } from './people-store.js';
import { historyOf, pgEventCtes, STOP_KEY_SQL, type EventRow } from './consent-store.js';
import type { MessageRow } from '../dispatch/outbox-store.js';
import { MESSAGE_COLUMNS, PEOPLE_COLUMNS, pgType } from '../columns.js';

export { EVENT_COLUMNS, MESSAGE_COLUMNS, PEOPLE_COLUMNS } from '../columns.js';
import type { ConsentStatus, HistoryEvent, TopicState } from '../../domain/consent/model.js';

/**
 * The opt-in's reads and writes in as few statements as each database allows (services/consent/record-opt-in.ts).
 * An opt-in is the busiest write of the product: on PostgreSQL every statement is a network round trip, so the
 * reads are one statement and the writes another (data-modifying CTEs); on SQLite the statements are prepared
 * once and run on the raw handle, without building and compiling a Kysely query each time.
 */

type Q = Kysely<DB>;

/** What the opt-in's checks read: the business, the named topics, the opt-in text, suppression, a duplicate. */
export interface OptInChecks {
  business: DB['businesses'] | null;
  topics: DB['topics'][];
  text: { usable: number; topic_keys: string } | null;
  suppressed: boolean;
  duplicate: EventRow | null;
}

/** The person as the opt-in found them, with what the projection needs. */
export interface OptInPerson {
  person: PersonRow | null;
  states: Map<string, TopicState>;
  lastStop: { at: number; eventId: string } | null;
  /** Every event of the person: read only when they have conditional events or the opt-in is a START. */
  history: HistoryEvent[] | null;
}

export interface ChecksArgs {
  businessId: string;
  topicKeys: string[];
  textHash: string | null;
  phoneHash: string | null;
  sourceRef: string | null;
}

/** Everything one opt-in writes. `person.expect` is the chain position and version it was planned on. */
export interface OptInWrite {
  person: { row: PersonRow; isNew: boolean; expect: { chainSeq: number; updatedAt: number } };
  event: EventRow;
  evidence: string;
  states: { topicId: string; status: ConsentStatus; decidedAt: number; eventId: string }[];
  message: MessageRow | null;
  /** The phone hash whose suppression this opt-in lifts (the person acted again after an erasure). */
  liftSuppression: string | null;
  now: number;
}

export const toStates = (rows: [string, string, number, string][] | null) =>
  new Map(
    (rows ?? []).map(([topicId, status, decidedAt, eventId]) => [
      topicId,
      { status: status as ConsentStatus, decidedAt: Number(decidedAt), eventId },
    ]),
  );
const toStop = (r: [number, string] | null | undefined) => (r ? { at: Number(r[0]), eventId: r[1] } : null);
type HistoryTuple = [string, string, number, number | null, string, string, string];
export const HISTORY_SELECT = 'e.id, e.type, e.occurred_at, e.occurred_precision_ms, e.scope, e.topic_keys, e.action';
const toHistory = (rows: HistoryTuple[] | null) =>
  rows
    ? rows.map(([id, type, occurred_at, occurred_precision_ms, scope, topic_keys, action]) =>
        historyOf({ id, type, occurred_at, occurred_precision_ms, scope, topic_keys, action }),
      )
    : null;

// ---------------------------------------------------------------- PostgreSQL

// $1 business, $2 topic keys, $3 text hash, $4 phone hash, $5 source reference.
const PG_CHECKS = `
  (SELECT row_to_json(b) FROM businesses b WHERE b.id = $1) AS business,
  (SELECT json_agg(t) FROM topics t WHERE t.business_id = $1 AND t.key = ANY($2::text[])) AS topics,
  (SELECT json_build_object('usable', c.usable, 'topic_keys', c.topic_keys) FROM consent_texts c WHERE c.business_id = $1 AND c.hash = $3) AS text,
  EXISTS (SELECT 1 FROM suppressions s WHERE s.business_id = $1 AND s.phone_hash = $4) AS suppressed,
  (SELECT row_to_json(e) FROM consent_events e WHERE e.business_id = $1 AND e.source_ref = $5) AS duplicate`;

// The person named by `col` = $v in business $1, their states, their latest STOP (by order key) and, when
// they have conditional events or $want is true, every event of theirs. Each of the person's rows is read in a
// LATERAL subquery that is not flattened into a join (OFFSET 0 / LIMIT), so it is always looked up by the person's
// key: as plain joins, with young statistics the planner read the latest STOP from every opt-out of the business
// (consent_events_occurred, business_id then type) and filtered the person out, a read that grows with the business.
const pgPerson = (col: string, v: string, want: string) => `
  (SELECT row_to_json(p) FROM people p WHERE p.business_id = $1 AND p.${col} = ${v}) AS person,
  (SELECT json_agg(json_build_array(s.topic_id, s.status, s.decided_at, s.event_id)) FROM people p
     CROSS JOIN LATERAL (SELECT s.* FROM consent_state s
       WHERE s.business_id = p.business_id AND s.person_id = p.id OFFSET 0) s
     WHERE p.business_id = $1 AND p.${col} = ${v}) AS states,
  (SELECT json_build_array(e.${STOP_KEY_SQL}, e.id) FROM people p
     CROSS JOIN LATERAL (SELECT e.* FROM consent_events e
       WHERE e.business_id = p.business_id AND e.person_id = p.id AND e.type = 'opt_out' AND e.scope = 'all'
       ORDER BY e.${STOP_KEY_SQL} DESC LIMIT 1) e
     WHERE p.business_id = $1 AND p.${col} = ${v}) AS last_stop,
  (SELECT json_agg(json_build_array(${HISTORY_SELECT})) FROM people p
     CROSS JOIN LATERAL (SELECT e.* FROM consent_events e
       WHERE e.business_id = p.business_id AND e.person_id = p.id OFFSET 0) e
     WHERE p.business_id = $1 AND p.${col} = ${v} AND (${want}::boolean OR p.cond_key IS NOT NULL)) AS history`;

interface PgFactsRow {
  business: DB['businesses'] | null;
  topics: DB['topics'][] | null;
  text: { usable: number; topic_keys: string } | null;
  suppressed: boolean;
  duplicate: EventRow | null;
  person: PersonRow | null;
  states: [string, string, number, string][] | null;
  last_stop: [number, string] | null;
  history: HistoryTuple[] | null;
}

const checksParams = (a: ChecksArgs) => [a.businessId, a.topicKeys, a.textHash, a.phoneHash, a.sourceRef];
const toChecks = (r: PgFactsRow): OptInChecks => ({
  business: r.business,
  topics: r.topics ?? [],
  text: r.text,
  suppressed: r.suppressed,
  duplicate: r.duplicate,
});
const toPerson = (r: PgFactsRow): OptInPerson => ({
  person: r.person,
  states: toStates(r.states),
  lastStop: toStop(r.last_stop),
  history: toHistory(r.history),
});

/**
 * Runs a statement: outside a transaction as a named statement on the pool (parsed and planned once per
 * connection), inside one on the transaction's connection.
 */
async function pgQuery<R>(database: Database, q: Q, name: string, text: string, values: unknown[]): Promise<R[]> {
  if (database.pool && !q.isTransaction) return (await database.pool.query({ name, text, values })).rows as R[];
  return (await q.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
}

/** Checks and person in one statement, one snapshot: the optimistic opt-in plans on it and writes conditionally. */
export async function pgReadAll(
  database: Database,
  q: Q,
  a: ChecksArgs,
  key: PersonKey,
  wantHistory = false,
): Promise<OptInChecks & OptInPerson> {
  const [col, val] = keyColumn(key);
  const [r] = await pgQuery<PgFactsRow>(
    database,
    q,
    `optline_optin_all_${col}`,
    `SELECT ${PG_CHECKS}, ${pgPerson(col, '$6', '$7')}`,
    [...checksParams(a), val, wantHistory],
  );
  return { ...toChecks(r!), ...toPerson(r!) };
}

export async function pgReadChecks(database: Database, q: Q, a: ChecksArgs): Promise<OptInChecks> {
  const [r] = await pgQuery<PgFactsRow>(database, q, 'optline_optin_checks', `SELECT ${PG_CHECKS}`, checksParams(a));
  return toChecks(r!);
}

/** States and latest STOP of a person already locked by this transaction. */
export async function pgReadPerson(
  database: Database,
  q: Q,
  businessId: string,
  personId: string,
  wantHistory = false,
): Promise<OptInPerson> {
  const [r] = await pgQuery<PgFactsRow>(database, q, 'optline_optin_person', `SELECT ${pgPerson('id', '$2', '$3')}`, [
    businessId,
    personId,
    wantHistory,
  ]);
  return toPerson(r!);
}

/**
 * All the writes in one statement. The person's row is written first and every other write selects from it,
 * so when the row is not the one the opt-in was planned on (another event was appended, the person changed or
 * was created meanwhile) nothing at all is written and this returns false. Inside a transaction holding the
 * person's lock that cannot happen.
 */
export async function pgWrite(database: Database, q: Q, w: OptInWrite): Promise<boolean> {
  const v: unknown[] = [];
  const p = (value: unknown, type: string) => `$${v.push(value)}::${type}`;
  const row = w.person.row;
  const cte: string[] = [];
  if (w.person.isNew) {
    // No conflict target: any unique key (number, WhatsApp id, BSUID) taken meanwhile means "not as planned".
    cte.push(`p AS (INSERT INTO people (${PEOPLE_COLUMNS.join(', ')})
      VALUES (${PEOPLE_COLUMNS.map((c) => p(row[c], pgType(c))).join(', ')}) ON CONFLICT DO NOTHING RETURNING id)`);
  } else {
    cte.push(`p AS (UPDATE people SET chain_seq = ${p(row.chain_seq, 'integer')}, chain_head = ${p(row.chain_head, 'text')},
      updated_at = ${p(row.updated_at, 'bigint')}, wa_id = ${p(row.wa_id, 'text')}, bsuid = ${p(row.bsuid, 'text')},
      cond_key = ${p(row.cond_key ?? null, 'bigint')}
      WHERE business_id = ${p(row.business_id, 'text')} AND id = ${p(row.id, 'text')}
        AND chain_seq = ${p(w.person.expect.chainSeq, 'integer')} AND updated_at = ${p(w.person.expect.updatedAt, 'bigint')}
      RETURNING id)`);
  }
  const e = w.event;
  cte.push(...pgEventCtes(p, e, w.evidence));
  if (w.states.length > 0) {
    cte.push(`s AS (INSERT INTO consent_state (business_id, person_id, topic_id, status, decided_at, event_id, updated_at)
      SELECT ${p(e.business_id, 'text')}, p.id, x.topic_id, x.status, x.decided_at, x.event_id, ${p(w.now, 'bigint')}
      FROM p, unnest(${p(
        w.states.map((s) => s.topicId),
        'text[]',
      )}, ${p(
        w.states.map((s) => s.status),
        'text[]',
      )}, ${p(
        w.states.map((s) => s.decidedAt),
        'bigint[]',
      )}, ${p(
        w.states.map((s) => s.eventId),
        'text[]',
      )}) AS x(topic_id, status, decided_at, event_id)
      ON CONFLICT (business_id, person_id, topic_id) DO UPDATE
      SET status = excluded.status, decided_at = excluded.decided_at, event_id = excluded.event_id, updated_at = excluded.updated_at)`);
  }
  if (w.message) {
    const m = w.message;
    cte.push(
      `m AS (INSERT INTO messages (${MESSAGE_COLUMNS.join(', ')}) SELECT ${MESSAGE_COLUMNS.map((c) => p(m[c], pgType(c))).join(', ')} FROM p)`,
    );
  }
  if (w.liftSuppression) {
    cte.push(
      `d AS (DELETE FROM suppressions WHERE business_id = ${p(e.business_id, 'text')} AND phone_hash = ${p(w.liftSuppression, 'text')} AND EXISTS (SELECT 1 FROM p))`,
    );
  }
  const text = `WITH ${cte.join(',\n')} SELECT count(*)::int AS n FROM p`;
  // The statement's shape depends only on these choices: one named statement per shape.
  const name = `optline_optin_write_${w.person.isNew ? 'new' : 'upd'}_${w.states.length}_${w.message ? 'm' : ''}${w.liftSuppression ? 'd' : ''}`;
  const [r] = await pgQuery<{ n: number }>(database, q, name, text, v);
  return r!.n === 1;
}
