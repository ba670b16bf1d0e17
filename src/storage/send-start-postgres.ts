/**
 * PostgreSQL's send start (see send-start.ts): several worker processes, READ COMMITTED. One short transaction
 * per batch:
 *
 * 1. lock the batch's people rows FOR SHARE, per business, in id order (an opt-out or an erasure takes the
 *    person FOR UPDATE first, so it waits for this step or this step waits for it; FOR SHARE lets the batches
 *    of several workers for one person go side by side);
 * 2. read the consent state and the message rows in statements of their own, after the locks were granted:
 *    each statement takes a fresh snapshot, so an opt-out that committed while step 1 waited is seen;
 * 3. write the decisions (started: call_started_at; cancelled, refused or released otherwise), guarded by the
 *    lease (status `sending`, this owner, this attempt);
 * 4. hand the started calls to the client, then commit.
 *
 * An opt-out therefore either commits before the locks are granted (its cancellation or state is read: no
 * call), or its FOR UPDATE waits for the commit, which comes after the calls were handed over: the opt-out then
 * finds them started (it leaves them alone: they left before it) and is acknowledged after they started.
 *
 * The step commits with synchronous_commit off: it does not wait for its WAL flush. That costs no guarantee. An
 * opt-out that waited for this step commits after it, and its own (synchronous) commit flushes the WAL up to its
 * record, this step's included; a crash that loses the step only loses a "call started" time of a message that
 * is still `sending` under its lease, which the reaper then reports as unknown (never resent on a guess).
 */
import { sql } from 'kysely';
import type { Database, Trx } from './db.js';
import { DISPATCH_PERSON_COLUMNS, statesByPerson, toDispatchPerson, type ConsentStates, type DispatchPerson, type MessageRow } from './dispatch-store.js';
import { byBusinessSorted, planStart, rowKey, settleSet, type SendStart, type StartRequest, type StartResult } from './send-start.js';

/** Start steps of one worker in flight at once: the calls of one pacer release need not wait for the last step's commit. */
export const PG_PARALLEL_STEPS = 4;

export function postgresSendStart(database: Database): SendStart {
  return {
    parallel: PG_PARALLEL_STEPS,
    async begin(batch, o) {
      if (batch.length === 0) return [];
      // A call is handed over at most once, even if the transaction runner were to run the body again.
      const handed = new Set<string>();
      return database.transaction(async (trx) => {
        await sql`SET LOCAL synchronous_commit = off`.execute(trx);
        const groups = byBusinessSorted(batch);
        const people = new Map<string, DispatchPerson>();
        for (const [businessId, reqs] of groups) {
          const ids = [...new Set(reqs.map((r) => r.personId))].sort();
          const locked = await trx.selectFrom('people').select([...DISPATCH_PERSON_COLUMNS])
            .where('business_id', '=', businessId).where('id', 'in', ids).orderBy('id').forShare().execute();
          for (const p of locked) people.set(`${businessId}|${p.id}`, toDispatchPerson(p));
        }
        const rows = new Map<string, MessageRow>();
        const states = new Map<string, ConsentStates>();
        for (const [businessId, reqs] of groups) {
          const st = await trx.selectFrom('consent_state').select(['person_id', 'topic_id', 'status', 'event_id'])
            .where('business_id', '=', businessId).where('person_id', 'in', [...new Set(reqs.map((r) => r.personId))]).execute();
          for (const [personId, m] of statesByPerson(st)) states.set(`${businessId}|${personId}`, m);
          const ms = await trx.selectFrom('messages').selectAll().where('business_id', '=', businessId).where('id', 'in', reqs.map((r) => r.id)).execute();
          for (const m of ms) rows.set(rowKey({ businessId: m.business_id, id: m.id }), m);
        }
        const results = planStart(batch, rows, people, states, o);
        const startedIds = await markStarted(trx, batch.filter((_, i) => results[i]!.action === 'start'), o.owner, o.now);
        for (let i = 0; i < batch.length; i++) {
          const d = results[i]!;
          const r = batch[i]!;
          if (d.action === 'start') {
            if (!startedIds.has(rowKey(r))) results[i] = { action: 'gone' };
          } else if (d.action !== 'gone') {
            const u = await trx.updateTable('messages')
              .set({ ...settleSet(d, o.now), ...(d.action === 'release' ? { attempts: sql<number>`attempts - 1` } : {}) })
              .where('business_id', '=', r.businessId).where('id', '=', r.id).where('status', '=', 'sending')
              .where('lease_owner', '=', o.owner).where('attempts', '=', r.attempt).where('call_started_at', 'is', null)
              .executeTakeFirst();
            if (Number(u.numUpdatedRows ?? 0) !== 1) results[i] = { action: 'gone' };
          }
        }
        // Handed over before COMMIT: an opt-out waiting on the people locks is answered only after this.
        for (let i = 0; i < batch.length; i++) {
          const r = batch[i]!;
          if (results[i]!.action === 'start' && !handed.has(rowKey(r))) {
            handed.add(rowKey(r));
            o.go(r);
          }
        }
        return results;
      });
    },
  };
}

/** Marks this try of each message started, in one statement per business; returns the rows marked. */
async function markStarted(trx: Trx, reqs: StartRequest[], owner: string, now: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [businessId, group] of byBusinessSorted(reqs)) {
    const values = sql.join(group.map((r) => sql`(${r.id}, ${r.attempt})`));
    const res = await sql<{ id: string }>`
      WITH v(id, attempts) AS (VALUES ${values})
      UPDATE messages SET call_started_at = ${now}, updated_at = ${now}
      FROM v
      WHERE messages.business_id = ${businessId} AND messages.id = v.id AND messages.attempts = CAST(v.attempts AS integer)
        AND messages.status = 'sending' AND messages.lease_owner = ${owner} AND messages.call_started_at IS NULL
      RETURNING messages.id`.execute(trx);
    for (const row of res.rows) out.add(rowKey({ businessId, id: row.id }));
  }
  return out;
}
