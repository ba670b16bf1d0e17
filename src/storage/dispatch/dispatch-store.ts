/**
 * The dispatch worker's reads and writes on the outbox, batched: a claim round reads the facts of up to a
 * few hundred messages in a handful of statements and leases them in one, so the database is not what
 * limits the send rate (on SQLite every statement shares one connection).
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { takesRowLocks } from '../db.js';
import type { ConsentStatus } from '../../domain/consent/model.js';
import { cancelledAtAfterCall } from './outbox-store.js';
import { keyedStatus } from '../residual.js';

type Q = Kysely<DB>;
export type MessageRow = DB['messages'];
export interface RowKey {
  businessId: string;
  id: string;
}

/**
 * The businesses with due queued messages: the claim then takes one business at a time, so every claim statement
 * filters on business_id (one shard under Citus). One index probe per business (messages_business_due): each
 * business's earliest queued not_before, compared with now. Written as EXISTS, PostgreSQL planned it as one bitmap
 * scan of every queued row of every business (messages_due) and read them all at every claim round: ~26,000 index
 * entries per round with 20,000 queued, and the dead entries of the rows just claimed on top.
 */
export async function dueBusinesses(q: Q, now: number): Promise<string[]> {
  const rows = await q
    .selectFrom('businesses as b')
    .select('b.id')
    .where(
      (eb) =>
        eb
          .selectFrom('messages as m')
          .select('m.not_before')
          .whereRef('m.business_id', '=', 'b.id')
          .where('m.status', '=', 'queued')
          .orderBy('m.not_before')
          .limit(1),
      '<=',
      now,
    )
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Due queued messages of one business, oldest first. On PostgreSQL the rows are locked and rows another worker
 * holds are skipped (FOR UPDATE SKIP LOCKED): two workers never see the same row, and an opt-out that is cancelling
 * a row right now makes the claim pass it by. On SQLite the one connection serialises everything.
 */
export async function selectDue(q: Q, o: { businessId: string; now: number; limit: number }): Promise<MessageRow[]> {
  let s = q
    .selectFrom('messages')
    .selectAll()
    .where('business_id', '=', o.businessId)
    .where('status', '=', 'queued')
    .where('not_before', '<=', o.now)
    .orderBy('not_before')
    .limit(o.limit);
  if (takesRowLocks(q)) s = s.forUpdate().skipLocked();
  return s.execute();
}

export interface DispatchPerson {
  id: string;
  phone: string | null;
  waId: string | null;
  bsuid: string | null;
  erased: boolean;
  unreachable: boolean;
  timezone: string | null;
  country: string | null;
  lastInboundAt: number | null;
}

/** The people columns a dispatch decision reads. */
export const DISPATCH_PERSON_COLUMNS = [
  'id',
  'phone_e164',
  'wa_id',
  'bsuid',
  'erased_at',
  'unreachable_at',
  'timezone',
  'country',
  'last_inbound_at',
] as const;
export type DispatchPersonRow = Pick<DB['people'], (typeof DISPATCH_PERSON_COLUMNS)[number]>;

export const toDispatchPerson = (r: DispatchPersonRow): DispatchPerson => ({
  id: r.id,
  phone: r.phone_e164,
  waId: r.wa_id,
  bsuid: r.bsuid,
  erased: r.erased_at !== null,
  unreachable: r.unreachable_at !== null,
  timezone: r.timezone,
  country: r.country ?? null,
  lastInboundAt: r.last_inbound_at === null ? null : Number(r.last_inbound_at),
});

export async function loadPeople(q: Q, businessId: string, personIds: string[]): Promise<Map<string, DispatchPerson>> {
  const rows = await q
    .selectFrom('people')
    .select([...DISPATCH_PERSON_COLUMNS])
    .where('business_id', '=', businessId)
    .where('id', 'in', personIds)
    .execute();
  return new Map(rows.map((r) => [r.id, toDispatchPerson(r)]));
}

export type ConsentStates = Map<string, { status: ConsentStatus; eventId: string }>;

/** Groups consent_state rows per person, per topic id. */
export function statesByPerson(
  rows: { person_id: string; topic_id: string; status: string; event_id: string }[],
): Map<string, ConsentStates> {
  const out = new Map<string, ConsentStates>();
  for (const r of rows) {
    let m = out.get(r.person_id);
    if (!m) out.set(r.person_id, (m = new Map()));
    m.set(r.topic_id, { status: r.status as ConsentStatus, eventId: r.event_id });
  }
  return out;
}

/** Consent state per person, per topic id. */
export async function loadStates(q: Q, businessId: string, personIds: string[]): Promise<Map<string, ConsentStates>> {
  const rows = await q
    .selectFrom('consent_state')
    .select(['person_id', 'topic_id', 'status', 'event_id'])
    .where('business_id', '=', businessId)
    .where('person_id', 'in', personIds)
    .execute();
  return statesByPerson(rows);
}

/**
 * Notifications that count against frequency caps: those sent since `since`, and those in flight right now
 * (`sending`, another worker's or ours), which count as sent at `now` so two claims cannot both take the
 * last place under a cap.
 */
export async function loadCapSends(
  q: Q,
  businessId: string,
  personIds: string[],
  since: number,
  now: number,
): Promise<Map<string, { topicId: string | null; sentAt: number }[]>> {
  const rows = await q
    .selectFrom('messages')
    .select(['person_id', 'topic_id', 'sent_at', 'status'])
    .where('business_id', '=', businessId)
    .where('person_id', 'in', personIds)
    .where('kind', '=', 'notification')
    .where((eb) => eb.or([eb('sent_at', '>', since), eb('status', '=', 'sending')]))
    .execute();
  const out = new Map<string, { topicId: string | null; sentAt: number }[]>();
  for (const r of rows) {
    const at = r.sent_at !== null ? Number(r.sent_at) : now;
    let l = out.get(r.person_id);
    if (!l) out.set(r.person_id, (l = []));
    l.push({ topicId: r.topic_id, sentAt: at });
  }
  return out;
}

/**
 * Leases queued rows to `owner`: status `sending`, attempts + 1, claimed now. The status guard makes the claim
 * correct even without row locks; only the rows returned are this worker's. The history times describe the
 * latest try, so those of an earlier try are cleared.
 */
export async function markSending(
  q: Q,
  keys: RowKey[],
  o: { owner: string; leaseUntil: number; now: number },
): Promise<{ id: string; attempts: number }[]> {
  if (keys.length === 0) return [];
  const out: { id: string; attempts: number }[] = [];
  for (const [businessId, ids] of byBusiness(keys)) {
    const rows = await q
      .updateTable('messages')
      .set({
        status: 'sending',
        lease_owner: o.owner,
        lease_until: o.leaseUntil,
        attempts: sql`attempts + 1`,
        updated_at: o.now,
        claimed_at: o.now,
        call_started_at: null,
        call_ended_at: null,
        cancelled_at: null,
        cancel_reason: null,
      })
      .where('business_id', '=', businessId)
      .where('id', 'in', ids)
      .where(keyedStatus('queued'))
      .returning(['id', 'attempts'])
      .execute();
    for (const r of rows) out.push({ id: r.id, attempts: Number(r.attempts) });
  }
  return out;
}

/** A claim-time decision that is not a send: refused, cancelled or deferred (still queued, later). */
export async function settleAtClaim(
  q: Q,
  key: RowKey,
  s: {
    status: 'refused' | 'cancelled' | 'queued' | 'failed';
    errorCode: string;
    detail: string;
    notBefore?: number;
    now: number;
  },
): Promise<void> {
  await q
    .updateTable('messages')
    .set({
      status: s.status,
      error_code: s.errorCode,
      error_detail: s.detail.slice(0, 1000),
      updated_at: s.now,
      ...(s.notBefore !== undefined ? { not_before: s.notBefore } : {}),
      ...(s.status === 'cancelled' ? { cancelled_at: cancelledAtAfterCall(s.now), cancel_reason: s.errorCode } : {}),
    })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where(keyedStatus('queued'))
    .execute();
}

/** Gives rows this worker leased but never tried back to the queue, the try not counted. */
export async function releaseLeases(
  q: Q,
  items: (RowKey & { notBefore: number })[],
  owner: string,
  now: number,
): Promise<number> {
  let n = 0;
  for (const it of items) {
    const r = await q
      .updateTable('messages')
      .set({
        status: 'queued',
        lease_owner: null,
        lease_until: null,
        attempts: sql`attempts - 1`,
        not_before: it.notBefore,
        updated_at: now,
      })
      .where('business_id', '=', it.businessId)
      .where('id', '=', it.id)
      .where(keyedStatus('sending'))
      .where('lease_owner', '=', owner)
      .where('call_started_at', 'is', null)
      .executeTakeFirst();
    n += Number(r.numUpdatedRows ?? 0);
  }
  return n;
}

/**
 * Leases that ran out: the worker holding them died (or hung) in the middle of a send. The message may or
 * may not have reached Meta, so it is never resent silently: it becomes `unknown` until a status webhook
 * tells (biz_opaque_callback_data carries our id) or an operator resolves it.
 */
export async function reapExpiredLeases(q: Q, now: number): Promise<number> {
  const r = await q
    .updateTable('messages')
    .set({
      status: 'unknown',
      error_code: 'IN_FLIGHT_AT_CRASH',
      lease_owner: null,
      lease_until: null,
      updated_at: now,
      error_detail:
        'The worker sending this message stopped before it recorded the outcome; it may or may not have been delivered.',
    })
    .where('status', '=', 'sending')
    .where('lease_until', '<', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows ?? 0);
}

export function byBusiness<T extends RowKey>(keys: T[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const k of keys) {
    let l = m.get(k.businessId);
    if (!l) m.set(k.businessId, (l = []));
    l.push(k.id);
  }
  return m;
}

export * from './outcome-store.js';
