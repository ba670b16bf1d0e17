/**
 * The dispatch worker's reads and writes on the outbox, batched: a claim round reads the facts of up to a
 * few hundred messages in a handful of statements and leases them in one, so the database is not what
 * limits the send rate (on SQLite every statement shares one connection).
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { takesRowLocks } from '../db.js';
import type { ConsentStatus } from '../../domain/consent/model.js';
import { describeMessage } from '../../domain/message-history.js';
import { cancelledAtAfterCall } from './outbox-store.js';

type Q = Kysely<DB>;
export type MessageRow = DB['messages'];
export interface RowKey {
  businessId: string;
  id: string;
}

/**
 * The businesses with due queued messages: the claim then takes one business at a time, so every claim statement
 * filters on business_id (one shard under Citus). One index probe per business (messages_business_due).
 */
export async function dueBusinesses(q: Q, now: number): Promise<string[]> {
  const rows = await q
    .selectFrom('businesses as b')
    .select('b.id')
    .where((eb) => eb.exists(
      eb.selectFrom('messages as m').select('m.id').whereRef('m.business_id', '=', 'b.id').where('m.status', '=', 'queued').where('m.not_before', '<=', now),
    ))
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Due queued messages of one business, oldest first. On PostgreSQL the rows are locked and rows another worker
 * holds are skipped (FOR UPDATE SKIP LOCKED): two workers never see the same row, and an opt-out that is cancelling
 * a row right now makes the claim pass it by. On SQLite the one connection serialises everything.
 */
export async function selectDue(q: Q, o: { businessId: string; now: number; limit: number }): Promise<MessageRow[]> {
  let s = q.selectFrom('messages').selectAll().where('business_id', '=', o.businessId).where('status', '=', 'queued')
    .where('not_before', '<=', o.now).orderBy('not_before').limit(o.limit);
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
export const DISPATCH_PERSON_COLUMNS = ['id', 'phone_e164', 'wa_id', 'bsuid', 'erased_at', 'unreachable_at', 'timezone', 'country', 'last_inbound_at'] as const;
export type DispatchPersonRow = Pick<DB['people'], (typeof DISPATCH_PERSON_COLUMNS)[number]>;

export const toDispatchPerson = (r: DispatchPersonRow): DispatchPerson => ({
  id: r.id, phone: r.phone_e164, waId: r.wa_id, bsuid: r.bsuid, erased: r.erased_at !== null, unreachable: r.unreachable_at !== null,
  timezone: r.timezone, country: r.country ?? null, lastInboundAt: r.last_inbound_at === null ? null : Number(r.last_inbound_at),
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
export function statesByPerson(rows: { person_id: string; topic_id: string; status: string; event_id: string }[]): Map<string, ConsentStates> {
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
export async function loadCapSends(q: Q, businessId: string, personIds: string[], since: number, now: number): Promise<Map<string, { topicId: string | null; sentAt: number }[]>> {
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
export async function markSending(q: Q, keys: RowKey[], o: { owner: string; leaseUntil: number; now: number }): Promise<{ id: string; attempts: number }[]> {
  if (keys.length === 0) return [];
  const out: { id: string; attempts: number }[] = [];
  for (const [businessId, ids] of byBusiness(keys)) {
    const rows = await q
      .updateTable('messages')
      .set({
        status: 'sending', lease_owner: o.owner, lease_until: o.leaseUntil, attempts: sql`attempts + 1`, updated_at: o.now,
        claimed_at: o.now, call_started_at: null, call_ended_at: null, cancelled_at: null, cancel_reason: null,
      })
      .where('business_id', '=', businessId)
      .where('id', 'in', ids)
      .where('status', '=', 'queued')
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
  s: { status: 'refused' | 'cancelled' | 'queued' | 'failed'; errorCode: string; detail: string; notBefore?: number; now: number },
): Promise<void> {
  await q
    .updateTable('messages')
    .set({
      status: s.status, error_code: s.errorCode, error_detail: s.detail.slice(0, 1000), updated_at: s.now,
      ...(s.notBefore !== undefined ? { not_before: s.notBefore } : {}),
      ...(s.status === 'cancelled' ? { cancelled_at: cancelledAtAfterCall(s.now), cancel_reason: s.errorCode } : {}),
    })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('status', '=', 'queued')
    .execute();
}

/** Gives rows this worker leased but never tried back to the queue, the try not counted. */
export async function releaseLeases(q: Q, items: (RowKey & { notBefore: number })[], owner: string, now: number): Promise<number> {
  let n = 0;
  for (const it of items) {
    const r = await q
      .updateTable('messages')
      .set({ status: 'queued', lease_owner: null, lease_until: null, attempts: sql`attempts - 1`, not_before: it.notBefore, updated_at: now })
      .where('business_id', '=', it.businessId)
      .where('id', '=', it.id)
      .where('status', '=', 'sending')
      .where('lease_owner', '=', owner)
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
      status: 'unknown', error_code: 'IN_FLIGHT_AT_CRASH', lease_owner: null, lease_until: null, updated_at: now,
      error_detail: 'The worker sending this message stopped before it recorded the outcome; it may or may not have been delivered.',
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

/**
 * The common case of writeSent for many messages of one business in ONE statement: rows still leased to
 * this try (`sending`, same attempts) become `sent`. Returns the ids written; the others (a status changed
 * while in flight) go through writeSent one by one. Portable SQL: a VALUES list in a CTE, UPDATE … FROM.
 */
export async function writeSentBatch(
  q: Q,
  businessId: string,
  rows: { id: string; attempt: number; providerMessageId: string; at: number; call: CallTimes }[],
  now: number,
): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const values = sql.join(rows.map((r) => sql`(${r.id}, ${r.attempt}, ${r.providerMessageId}, ${r.at}, ${r.call.startedAt}, ${r.call.endedAt})`));
  const res = await sql<{ id: string }>`
    WITH v(id, attempts, wamid, at, started, ended) AS (VALUES ${values})
    UPDATE messages SET status = 'sent', provider_message_id = v.wamid, sent_at = CAST(v.at AS bigint), updated_at = ${now},
      error_code = NULL, error_detail = NULL, lease_owner = NULL, lease_until = NULL,
      call_started_at = COALESCE(messages.call_started_at, CAST(v.started AS bigint)), call_ended_at = CAST(v.ended AS bigint)
    FROM v
    WHERE messages.business_id = ${businessId} AND messages.id = v.id AND messages.attempts = CAST(v.attempts AS integer)
      AND messages.status = 'sending'
    RETURNING messages.id`.execute(q);
  return new Set(res.rows.map((r) => r.id));
}

/** When a provider call started (as marked with the last re-check) and when its answer came back. */
export interface CallTimes {
  startedAt: number;
  endedAt: number;
}

/** The call times of a try, written with its outcome (the start only if the start mark was not committed). */
const callTimes = (c: CallTimes | undefined) =>
  c ? { call_started_at: sql<number>`COALESCE(call_started_at, ${c.startedAt})`, call_ended_at: c.endedAt } : {};

/** Statuses a send that Meta accepted may overwrite: ours (`sending`), or one set while it was in flight. */
const SENT_OVER = ['cancelled', 'unknown', 'queued'];

/**
 * Meta accepted the message. Written over our lease; and also over a status set while the call was in
 * flight (the reaper's `unknown`, a cancellation), because the message did leave: the truth is recorded,
 * with a note derived from the recorded times. `attempt` guards against a row that was re-queued and claimed
 * again meanwhile.
 */
export async function writeSent(
  q: Q,
  key: RowKey,
  attempt: number,
  s: { providerMessageId: string; at: number; call?: CallTimes },
): Promise<{ written: boolean; raced: { status: string; errorCode: string | null } | null }> {
  const base = {
    status: 'sent', provider_message_id: s.providerMessageId, sent_at: s.at, updated_at: s.at, lease_owner: null, lease_until: null, ...callTimes(s.call),
  };
  const r = await q
    .updateTable('messages')
    .set({ ...base, error_code: null, error_detail: null })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows ?? 0) === 1) return { written: true, raced: null };
  const cur = await q
    .selectFrom('messages')
    .select(['status', 'error_code', 'claimed_at', 'call_started_at', 'call_ended_at', 'cancelled_at', 'cancel_reason'])
    .where('business_id', '=', key.businessId).where('id', '=', key.id).where('attempts', '=', attempt)
    .executeTakeFirst();
  if (!cur || !SENT_OVER.includes(cur.status)) {
    // Moved on already (a status webhook came first): the call's times are still this try's history.
    if (cur && s.call) await writeCallEnded(q, key, attempt, s.call);
    return { written: false, raced: null };
  }
  const num = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));
  const note = describeMessage('sent', {
    claimedAt: num(cur.claimed_at), callStartedAt: num(cur.call_started_at) ?? s.call?.startedAt ?? null, callEndedAt: s.call?.endedAt ?? null,
    cancelledAt: num(cur.cancelled_at), cancelReason: cur.cancel_reason ?? (cur.status === 'cancelled' ? cur.error_code : null),
  });
  await q
    .updateTable('messages')
    .set({ ...base, error_code: cur.error_code, error_detail: note })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where('status', '=', cur.status)
    .execute();
  return { written: true, raced: { status: cur.status, errorCode: cur.error_code } };
}

/** Back to the queue for another try later; only while this worker's lease holds (a cancelled row stays cancelled). */
export async function writeRetry(
  q: Q,
  key: RowKey,
  attempt: number,
  s: { notBefore: number; errorCode: string; detail: string; now: number; payload?: string; call?: CallTimes },
): Promise<boolean> {
  const r = await q
    .updateTable('messages')
    .set({
      status: 'queued', not_before: s.notBefore, error_code: s.errorCode, error_detail: s.detail.slice(0, 1000), lease_owner: null,
      lease_until: null, updated_at: s.now, ...(s.payload !== undefined ? { payload: s.payload } : {}), ...callTimes(s.call),
    })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows ?? 0) === 1) return true;
  if (s.call) await writeCallEnded(q, key, attempt, s.call);
  return false;
}

/**
 * The call of a try whose outcome is not written (the row was settled otherwise meanwhile, e.g. cancelled
 * after a failed call): its times are still recorded, so the history shows the call that was made.
 */
export async function writeCallEnded(q: Q, key: RowKey, attempt: number, call: CallTimes): Promise<void> {
  await q
    .updateTable('messages')
    .set(callTimes(call))
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where('call_ended_at', 'is', null)
    .execute();
}

/** The send failed for good. Also over a `cancelled` or `unknown` set meanwhile: the truth is that it failed. */
export async function writeFailed(q: Q, key: RowKey, attempt: number, s: { errorCode: string; detail: string; now: number; call?: CallTimes }): Promise<boolean> {
  const r = await q
    .updateTable('messages')
    .set({ status: 'failed', error_code: s.errorCode, error_detail: s.detail.slice(0, 1000), lease_owner: null, lease_until: null, updated_at: s.now, ...callTimes(s.call) })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where('status', 'in', ['sending', 'cancelled', 'unknown'])
    .executeTakeFirst();
  if (Number(r.numUpdatedRows ?? 0) === 1) return true;
  if (s.call) await writeCallEnded(q, key, attempt, s.call);
  return false;
}
