/**
 * PostgreSQL's send start (see send-start.ts): several worker processes, READ COMMITTED. One short transaction
 * per batch, of two statements in the usual case:
 *
 * 1. LOCK: the batch's people rows FOR SHARE, in (business, id) order (an opt-out or an erasure takes the person
 *    FOR UPDATE first, so it waits for this step or this step waits for it; FOR SHARE lets the batches of
 *    several workers for one person go side by side).
 * 2. MARK: one statement, which takes its snapshot after the locks were granted (so an opt-out that committed
 *    while step 1 waited is seen), marks this try of each message started (guarded by the lease: `sending`,
 *    this owner, this attempt, not started) and returns each marked row with its person and consent state.
 *    The mark is provisional: the caller's verdict is applied to those facts next, and a message it stops is
 *    put back (call_started_at NULL again) and settled, in the same transaction, by one more statement
 *    (SETTLE), run only when something was stopped. Nothing outside sees the provisional mark: the rows stay
 *    locked by this transaction until it ends.
 * 3. The started calls are handed to the client, then the transaction commits.
 *
 * An opt-out therefore either commits before the locks are granted (its cancellation or state is read: no
 * call), or its FOR UPDATE waits for the commit, which comes after the calls were handed over: the opt-out then
 * finds them started (it leaves them alone: they left before it) and is acknowledged after they started. The
 * lock must stay a statement of its own: a statement reads with the snapshot it took when it began, so a
 * statement that waited for a lock and then read in the same statement could miss the opt-out it waited for.
 *
 * On a real server (a pg pool) the transaction's opening (BEGIN, synchronous_commit off, LOCK and MARK) goes as
 * ONE simple-protocol message: the server still runs the statements one after the other, each with a snapshot
 * of its own, but the step waits for one round trip instead of four. The values are written into that text as
 * escaped literals (the simple protocol takes no parameters). Any other PostgreSQL (the tests' PGlite) runs the
 * same statements one by one through Kysely.
 *
 * The step commits with synchronous_commit off: it does not wait for its WAL flush. That costs no guarantee. An
 * opt-out that waited for this step commits after it, and its own (synchronous) commit flushes the WAL up to its
 * record, this step's included; a crash that loses the step only loses a "call started" time of a message that
 * is still `sending` under its lease, which the reaper then reports as unknown (never resent on a guess).
 */
import pg from 'pg';
import { CompiledQuery, sql } from 'kysely';
import { isRetryableConflict, type Database, type Trx } from '../db.js';
import {
  statesByPerson,
  toDispatchPerson,
  type DispatchPersonRow,
  type MessageRow,
} from '../dispatch/dispatch-store.js';
import {
  byBusinessSorted,
  rowKey,
  type SendStart,
  type SendStartOptions,
  type StartRequest,
  type StartResult,
} from '../dispatch/send-start.js';
import { keyedStatusText } from '../residual.js';

/**
 * Start steps of one worker in flight at once: the calls of one pacer release need not wait for the last step's commit.
 */
export const PG_PARALLEL_STEPS = 4;

/** A marked row as MARK returns it: the message, the person it was requested for (or null), their consent states. */
type MarkedRow = MessageRow & {
  req_person_id: string;
  person: DispatchPersonRow | string | null;
  states: StateRow[] | string | null;
};
interface StateRow {
  person_id: string;
  topic_id: string;
  status: string;
  event_id: string;
}

/**
 * The statement texts, with every value written in as an escaped literal: the simple protocol (one round trip for
 * several statements) takes no parameters, and literal lists give the planner exact row counts (the primary keys
 * are used, whatever the size of the tables).
 */
const LOCK = (batch: StartRequest[]) => {
  const per = byBusinessSorted(batch).map(
    ([b, reqs]) =>
      `(p.business_id = ${lit(b)} AND p.id IN (${[...new Set(reqs.map((r) => r.personId))].map(lit).join(', ')}))`,
  );
  return `SELECT p.id FROM people p WHERE ${per.join(' OR ')} ORDER BY p.business_id, p.id FOR SHARE OF p`;
};

const MARK = (batch: StartRequest[], owner: string, now: number) => `WITH r(business_id, id, person_id, attempt) AS (
    VALUES ${batch.map((r) => `(${lit(r.businessId)}, ${lit(r.id)}, ${lit(r.personId)}, ${int(r.attempt)})`).join(', ')}
  ), upd AS (
    UPDATE messages m SET call_started_at = ${int(now)}
    FROM r
    WHERE m.business_id = r.business_id AND m.id = r.id AND m.attempts = r.attempt
      AND ${keyedStatusText('m', 'sending')} AND m.lease_owner = ${lit(owner)} AND m.call_started_at IS NULL
    RETURNING m.*, r.person_id AS req_person_id
  )
  SELECT upd.*,
    (SELECT json_build_object('id', p.id, 'phone_e164', p.phone_e164, 'wa_id', p.wa_id, 'bsuid', p.bsuid, 'erased_at', p.erased_at,
        'unreachable_at', p.unreachable_at, 'timezone', p.timezone, 'country', p.country, 'last_inbound_at', p.last_inbound_at)
      FROM people p WHERE p.business_id = upd.business_id AND p.id = upd.req_person_id) AS person,
    (SELECT json_agg(json_build_object('person_id', cs.person_id, 'topic_id', cs.topic_id, 'status', cs.status, 'event_id', cs.event_id))
      FROM consent_state cs WHERE cs.business_id = upd.business_id AND cs.person_id = upd.req_person_id) AS states
  FROM upd`;

/** One stopped message as a row of SETTLE's VALUES list (every value a literal: the statement is sent whole). */
const settleValues = (s: SettleRow): string => {
  const notBefore = s.notBefore === null ? 'NULL::bigint' : `${int(s.notBefore)}::bigint`;
  const text = [s.businessId, s.id, s.status, s.code, s.detail].map(lit).join(', ');
  return `(${text}, ${s.cancelled}, ${notBefore}, ${int(s.uncount)})`;
};

/** Puts stopped messages back (not started) and settles them as decided; same guard, plus "marked by this step". */
const SETTLE = (
  stops: SettleRow[],
  owner: string,
  now: number,
) => `WITH s(business_id, id, status, code, detail, cancelled, not_before, uncount) AS (
    VALUES ${stops.map(settleValues).join(', ')}
  )
  UPDATE messages m SET status = s.status, error_code = s.code, error_detail = s.detail, lease_owner = NULL, lease_until = NULL,
    updated_at = ${int(now)}, call_started_at = NULL,
    cancelled_at = CASE WHEN s.cancelled THEN ${int(now)} ELSE m.cancelled_at END,
    cancel_reason = CASE WHEN s.cancelled THEN s.code ELSE m.cancel_reason END,
    not_before = COALESCE(s.not_before, m.not_before), attempts = m.attempts - s.uncount
  FROM s
  WHERE m.business_id = s.business_id AND m.id = s.id AND ${keyedStatusText('m', 'sending')} AND m.lease_owner = ${lit(owner)}
    AND m.call_started_at = ${int(now)}
  RETURNING m.business_id, m.id`;

const lit = (v: string) => pg.escapeLiteral(v);

function int(v: number): string {
  if (!Number.isSafeInteger(v)) throw new Error('send start: not an integer');
  return String(v);
}

const OPEN = `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off`;

export function postgresSendStart(database: Database): SendStart {
  const pool = database.pool;
  return {
    parallel: PG_PARALLEL_STEPS,
    begin(batch, o) {
      if (batch.length === 0) return Promise.resolve([]);
      return pool ? onPool(pool, batch, o) : onKysely(database, batch, o);
    },
  };
}

async function onPool(pool: pg.Pool, batch: StartRequest[], o: SendStartOptions): Promise<StartResult[]> {
  const handed = new Set<string>();
  for (let attempt = 1; ; attempt++) {
    try {
      return await onPoolOnce(pool, batch, o, handed);
    } catch (e) {
      // Deadlock and serialisation failures: run again, as the transaction runner does, when no call left.
      if (handed.size === 0 && isRetryableConflict(e) && attempt < 5) continue;
      throw e;
    }
  }
}

/** A real server: BEGIN … MARK in one round trip, SETTLE when something was stopped, hand-over, COMMIT. */
async function onPoolOnce(
  pool: pg.Pool,
  batch: StartRequest[],
  o: SendStartOptions,
  handed: Set<string>,
): Promise<StartResult[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const res = (await client.query(
      `${OPEN}; ${LOCK(batch)}; ${MARK(batch, o.owner, o.now)}`,
    )) as unknown as pg.QueryResult[];
    const results = decideAll(batch, res[res.length - 1]!.rows as MarkedRow[], o);
    const stops = stopsOf(batch, results);
    if (stops.length) {
      const s = await client.query<{ business_id: string; id: string }>(SETTLE(stops, o.owner, o.now));
      applySettled(batch, results, s.rows);
    }
    // Handed over before COMMIT: an opt-out waiting on the people locks is answered only after this.
    handOver(batch, results, o, handed);
    await client.query('COMMIT');
    return results;
  } catch (e) {
    try {
      await client.query('ROLLBACK');
    } catch (r) {
      broken = r as Error;
    }
    throw e;
  } finally {
    client.release(broken);
  }
}

/** Any other PostgreSQL (PGlite in tests): the same statements, one by one, in a Kysely transaction. */
function onKysely(database: Database, batch: StartRequest[], o: SendStartOptions): Promise<StartResult[]> {
  // A call is handed over at most once, even if the transaction runner were to run the body again.
  const handed = new Set<string>();
  return database.transaction(async (trx) => {
    // The locks, then fresh snapshots: READ COMMITTED whatever the server's default.
    await sql`SET TRANSACTION ISOLATION LEVEL READ COMMITTED`.execute(trx);
    await sql`SET LOCAL synchronous_commit = off`.execute(trx);
    await raw(trx, LOCK(batch));
    const marked = await raw<MarkedRow>(trx, MARK(batch, o.owner, o.now));
    const results = decideAll(batch, marked, o);
    const stops = stopsOf(batch, results);
    if (stops.length)
      applySettled(batch, results, await raw<{ business_id: string; id: string }>(trx, SETTLE(stops, o.owner, o.now)));
    handOver(batch, results, o, handed);
    return results;
  });
}

async function raw<T>(trx: Trx, text: string): Promise<T[]> {
  return (await trx.executeQuery<T>(CompiledQuery.raw(text, []))).rows;
}

const parsed = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

/** The caller's verdict on every marked row; a request whose row was not marked is no longer this try's lease. */
function decideAll(batch: StartRequest[], marked: MarkedRow[], o: SendStartOptions): StartResult[] {
  const byKey = new Map(marked.map((m) => [rowKey({ businessId: m.business_id, id: m.id }), m]));
  return batch.map((req): StartResult => {
    const m = byKey.get(rowKey(req));
    if (!m) return { action: 'gone' };
    const { req_person_id: _p, person, states, ...row } = m;
    const st = parsed(states);
    const facts = {
      // The verdict sees the row as it was before the provisional mark.
      row: { ...row, call_started_at: null } as MessageRow,
      person: (() => {
        const p = parsed(person);
        return p ? toDispatchPerson(p) : undefined;
      })(),
      states: st ? statesByPerson(st).get(req.personId) : undefined,
    };
    return o.decide(req, facts);
  });
}

interface SettleRow {
  businessId: string;
  id: string;
  status: 'cancelled' | 'refused' | 'queued';
  code: string;
  detail: string;
  cancelled: boolean;
  notBefore: number | null;
  uncount: 0 | 1;
}

/** The columns a stop writes, per message: cancelled (with cancelled_at), refused, or back to the queue uncounted. */
function stopsOf(batch: StartRequest[], results: StartResult[]): SettleRow[] {
  const out: SettleRow[] = [];
  results.forEach((d, i) => {
    if (d.action === 'start' || d.action === 'gone') return;
    const r = batch[i]!;
    out.push({
      businessId: r.businessId,
      id: r.id,
      code: d.code,
      detail: d.detail.slice(0, 1000),
      status: d.action === 'cancel' ? 'cancelled' : d.action === 'refuse' ? 'refused' : 'queued',
      cancelled: d.action === 'cancel',
      notBefore: d.action === 'release' ? d.notBefore : null,
      uncount: d.action === 'release' ? 1 : 0,
    });
  });
  return out;
}

function applySettled(
  batch: StartRequest[],
  results: StartResult[],
  settled: { business_id: string; id: string }[],
): void {
  const done = new Set(settled.map((s) => rowKey({ businessId: s.business_id, id: s.id })));
  results.forEach((d, i) => {
    if (d.action !== 'start' && d.action !== 'gone' && !done.has(rowKey(batch[i]!))) results[i] = { action: 'gone' };
  });
}

function handOver(
  batch: StartRequest[],
  results: StartResult[],
  o: SendStartOptions,
  handed = new Set<string>(),
): void {
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    if (results[i]!.action === 'start' && !handed.has(rowKey(r))) {
      handed.add(rowKey(r));
      o.go(r);
    }
  }
}
