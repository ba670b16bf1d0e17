/**
 * Send pacing shared by every dispatch worker (migration 0012): the GCRA state of each business number and the
 * 131056 penalties of recipients. The rules are the worker's (worker/dispatch/number-slots.ts); this file only
 * reads and writes the rows, in portable SQL.
 *
 * `tryLockNumber` takes the number's row FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite has one writer): the claim
 * calls it first, so the claims of one number are serialised across workers and each sees the slots and the in-flight
 * sends of the claims before it. Errors reported by a call (130429, account errors) update the row in a short
 * transaction of their own (`updateNumber`, which waits for the row: `lockNumber`), so every worker's next claim sees
 * them.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { takesRowLocks, type Database } from '../db.js';

type Q = Kysely<DB>;

/** The row's state, as the rules see it. */
export interface NumberPacingState {
  tat: number;
  rate: number;
  configured: number;
  adjustedAt: number;
  slowedAt: number;
  pausedUntil: number;
}

const COLUMNS = ['tat', 'rate', 'configured', 'adjusted_at', 'slowed_at', 'paused_until'] as const;
type Row = Pick<DB['number_pacing'], (typeof COLUMNS)[number]>;

const toState = (r: Row): NumberPacingState => ({
  tat: Number(r.tat),
  rate: Number(r.rate),
  configured: Number(r.configured),
  adjustedAt: Number(r.adjusted_at),
  slowedAt: Number(r.slowed_at),
  pausedUntil: Number(r.paused_until),
});

async function select(
  q: Q,
  businessId: string,
  phoneNumberId: string,
  lock: 'wait' | 'skip' | 'none' = 'wait',
): Promise<Row | undefined> {
  let s = q
    .selectFrom('number_pacing')
    .select([...COLUMNS])
    .where('business_id', '=', businessId)
    .where('phone_number_id', '=', phoneNumberId);
  if (takesRowLocks(q) && lock !== 'none') s = lock === 'skip' ? s.forUpdate().skipLocked() : s.forUpdate();
  return s.executeTakeFirst();
}

/** The number's state, its row locked until the transaction ends (created with `init` the first time). */
export async function lockNumber(
  trx: Q,
  businessId: string,
  phoneNumberId: string,
  init: NumberPacingState,
  now: number,
): Promise<NumberPacingState> {
  return (await lockNumberIf(trx, businessId, phoneNumberId, init, now, 'wait'))!;
}

/**
 * lockNumber without waiting: null when another transaction (another worker's claim) holds the row right now. A
 * claim then passes the number by for this round instead of queueing behind the other one: the waiting claims of
 * several workers held their snapshots for as long as they waited, which kept PostgreSQL from pruning the dead
 * versions of just-claimed messages, and every claim's index scan then walked through them.
 */
export async function tryLockNumber(
  trx: Q,
  businessId: string,
  phoneNumberId: string,
  init: NumberPacingState,
  now: number,
): Promise<NumberPacingState | null> {
  return lockNumberIf(trx, businessId, phoneNumberId, init, now, 'skip');
}

async function lockNumberIf(
  trx: Q,
  businessId: string,
  phoneNumberId: string,
  init: NumberPacingState,
  now: number,
  lock: 'wait' | 'skip',
): Promise<NumberPacingState | null> {
  const row = await select(trx, businessId, phoneNumberId, lock);
  if (row) return toState(row);
  // Skipped: held by another transaction if the row exists (then null), else created below.
  if (lock === 'skip' && takesRowLocks(trx) && (await select(trx, businessId, phoneNumberId, 'none'))) return null;
  await trx
    .insertInto('number_pacing')
    .values({
      business_id: businessId,
      phone_number_id: phoneNumberId,
      tat: init.tat,
      rate: init.rate,
      configured: init.configured,
      adjusted_at: init.adjustedAt,
      slowed_at: init.slowedAt,
      paused_until: init.pausedUntil,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['business_id', 'phone_number_id']).doNothing())
    .execute();
  const again = await select(trx, businessId, phoneNumberId);
  if (!again) throw new Error('number_pacing: row missing after insert');
  return toState(again);
}

export async function saveNumber(
  trx: Q,
  businessId: string,
  phoneNumberId: string,
  s: NumberPacingState,
  now: number,
): Promise<void> {
  await trx
    .updateTable('number_pacing')
    .set({
      tat: s.tat,
      rate: s.rate,
      configured: s.configured,
      adjusted_at: s.adjustedAt,
      slowed_at: s.slowedAt,
      paused_until: s.pausedUntil,
      updated_at: now,
    })
    .where('business_id', '=', businessId)
    .where('phone_number_id', '=', phoneNumberId)
    .execute();
}

/** Read, change (a pure rule) and write the number's state in one short transaction. */
export async function updateNumber(
  database: Database,
  businessId: string,
  phoneNumberId: string,
  init: NumberPacingState,
  now: number,
  change: (s: NumberPacingState) => NumberPacingState,
): Promise<NumberPacingState> {
  return database.transaction(async (trx) => {
    const next = change(await lockNumber(trx, businessId, phoneNumberId, init, now));
    await saveNumber(trx, businessId, phoneNumberId, next, now);
    return next;
  });
}

/**
 * 131056 penalties of a claim's recipients: person id → ready at (in the past once waited out: the strikes still
 * count until a send to them is accepted).
 */
export async function recipientPenalties(q: Q, businessId: string, personIds: string[]): Promise<Map<string, number>> {
  if (personIds.length === 0) return new Map();
  const rows = await q
    .selectFrom('recipient_pacing')
    .select(['person_id', 'ready_at'])
    .where('business_id', '=', businessId)
    .where('person_id', 'in', personIds)
    .execute();
  return new Map(rows.map((r) => [r.person_id, Number(r.ready_at)]));
}

/** A 131056: the recipient's next penalty from its strikes so far (the rule is the caller's); returns ready at. */
export async function penalizeRecipient(
  database: Database,
  businessId: string,
  personId: string,
  now: number,
  penalty: (strikes: number) => { readyAt: number; strikes: number },
): Promise<number> {
  return database.transaction(async (trx) => {
    let s = trx
      .selectFrom('recipient_pacing')
      .select(['strikes', 'ready_at'])
      .where('business_id', '=', businessId)
      .where('person_id', '=', personId);
    if (takesRowLocks(trx)) s = s.forUpdate();
    const row = await s.executeTakeFirst();
    const p = penalty(row ? Number(row.strikes) : 0);
    const readyAt = Math.max(p.readyAt, row ? Number(row.ready_at) : 0);
    await trx
      .insertInto('recipient_pacing')
      .values({ business_id: businessId, person_id: personId, ready_at: readyAt, strikes: p.strikes, updated_at: now })
      .onConflict((oc) =>
        oc
          .columns(['business_id', 'person_id'])
          .doUpdateSet({ ready_at: readyAt, strikes: p.strikes, updated_at: now }),
      )
      .execute();
    return readyAt;
  });
}

/** Sends to these recipients were accepted: their penalties start again from the first step. */
export async function clearRecipientPenalties(q: Q, businessId: string, personIds: string[]): Promise<void> {
  if (personIds.length === 0) return;
  await q
    .deleteFrom('recipient_pacing')
    .where('business_id', '=', businessId)
    .where('person_id', 'in', personIds)
    .execute();
}
