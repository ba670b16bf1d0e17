/**
 * SQLite's send start (see send-start.ts): one process, one connection, a synchronous driver. While Kysely's
 * connection is held no other transaction is open; the reads, the decisions, the writes and the hand-over of
 * the calls then run in one synchronous stretch, so no opt-out can commit between the check and the call.
 *
 * The step commits with synchronous=NORMAL (atomic, not yet forced to disk) and the connection's own setting is
 * put back at once: the next FULL commit on the connection (the outcomes', or an opt-out's before its answer)
 * forces this one to disk too. A crash before that loses only the "call started" time of a message that is
 * still `sending` under its lease, which the reaper then reports as unknown: never resent on a guess.
 */
import type SQLite from 'better-sqlite3';
import { preparedOn, type Database } from '../db.js';
import {
  statesByPerson,
  toDispatchPerson,
  type ConsentStates,
  type DispatchPerson,
  type DispatchPersonRow,
  type MessageRow,
} from '../dispatch/dispatch-store.js';
import {
  byBusinessSorted,
  planStart,
  rowKey,
  type SendStart,
  type SendStartOptions,
  type StartRequest,
  type StartResult,
} from '../dispatch/send-start.js';

const ROWS = `SELECT * FROM messages WHERE business_id = ? AND id IN (SELECT value FROM json_each(?))`;
const PEOPLE = `SELECT id, phone_e164, wa_id, bsuid, erased_at, unreachable_at, timezone, country, last_inbound_at FROM people
  WHERE business_id = ? AND id IN (SELECT value FROM json_each(?))`;
const STATES = `SELECT person_id, topic_id, status, event_id FROM consent_state WHERE business_id = ? AND person_id IN (SELECT value FROM json_each(?))`;
const GUARD = `business_id = ? AND id = ? AND status = 'sending' AND lease_owner = ? AND attempts = ? AND call_started_at IS NULL`;
const START = `UPDATE messages SET call_started_at = ? WHERE ${GUARD}`;
const SETTLE = `UPDATE messages SET status = ?, error_code = ?, error_detail = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?,
  cancelled_at = ?, cancel_reason = ?, not_before = COALESCE(?, not_before), attempts = attempts - ? WHERE ${GUARD}`;

function step(
  raw: SQLite.Database,
  batch: StartRequest[],
  o: SendStartOptions,
): { results: StartResult[]; started: StartRequest[] } {
  const rows = new Map<string, MessageRow>();
  const people = new Map<string, DispatchPerson>();
  const states = new Map<string, ConsentStates>();
  for (const [businessId, reqs] of byBusinessSorted(batch)) {
    for (const r of preparedOn(raw, ROWS).all(businessId, JSON.stringify(reqs.map((q) => q.id))) as MessageRow[])
      rows.set(rowKey({ businessId: r.business_id, id: r.id }), r);
    const personIds = JSON.stringify([...new Set(reqs.map((q) => q.personId))]);
    for (const p of preparedOn(raw, PEOPLE).all(businessId, personIds) as DispatchPersonRow[])
      people.set(`${businessId}|${p.id}`, toDispatchPerson(p));
    const st = statesByPerson(
      preparedOn(raw, STATES).all(businessId, personIds) as {
        person_id: string;
        topic_id: string;
        status: string;
        event_id: string;
      }[],
    );
    for (const [personId, m] of st) states.set(`${businessId}|${personId}`, m);
  }
  const results = planStart(batch, rows, people, states, o);
  const started: StartRequest[] = [];
  results.forEach((d, i) => {
    const r = batch[i]!;
    if (d.action === 'start') {
      if (preparedOn(raw, START).run(o.now, r.businessId, r.id, o.owner, r.attempt).changes === 1) started.push(r);
      else results[i] = { action: 'gone' };
    } else if (d.action !== 'gone') {
      const status = d.action === 'cancel' ? 'cancelled' : d.action === 'refuse' ? 'refused' : 'queued';
      const cancelled = d.action === 'cancel';
      const changes = preparedOn(raw, SETTLE).run(
        status,
        d.code,
        d.detail.slice(0, 1000),
        o.now,
        cancelled ? o.now : null,
        cancelled ? d.code : null,
        d.action === 'release' ? d.notBefore : null,
        d.action === 'release' ? 1 : 0,
        r.businessId,
        r.id,
        o.owner,
        r.attempt,
      ).changes;
      if (changes !== 1) results[i] = { action: 'gone' };
    }
  });
  return { results, started };
}

export function sqliteSendStart(database: Database): SendStart {
  const raw = database.sqlite!;
  return {
    parallel: 1,
    async begin(batch, o) {
      if (batch.length === 0) return [];
      return database.db.connection().execute(async () => {
        // Everything from here to the last `go` is synchronous: no other code runs in between.
        let out: { results: StartResult[]; started: StartRequest[] };
        if (raw.memory) {
          out = raw.transaction(() => step(raw, batch, o)).immediate();
        } else {
          const setting = Number(raw.pragma('synchronous', { simple: true }));
          raw.pragma('synchronous = NORMAL');
          try {
            out = raw.transaction(() => step(raw, batch, o)).immediate();
          } finally {
            raw.pragma(`synchronous = ${setting}`);
          }
        }
        for (const r of out.started) o.go(r);
        return out.results;
      });
    },
  };
}
