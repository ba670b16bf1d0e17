import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { newId } from '../../lib/ids.js';
import { parseJson } from '../json.js';
import { takesRowLocks } from '../db.js';
import { keyedStatus } from '../residual.js';
import type { KindAndPayload, MessageKind, MessagePayload } from '../../domain/messages.js';

export type { MessageKind } from '../../domain/messages.js';

type Q = Kysely<DB>;
export type MessageRow = DB['messages'];

/**
 * Message states. `queued` waits for its not_before; `sending` is claimed under a lease; a lease that
 * expires without an outcome becomes `unknown` (in flight when a worker died: never resent silently).
 */
export const MESSAGE_STATUSES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'read',
  'failed',
  'cancelled',
  'refused',
  'unknown',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export const OPEN_STATUSES: MessageStatus[] = ['queued', 'sending'];

/** A message as the API shows it; `kind` says what its `payload` carries (domain/messages.ts). */
export type Message = KindAndPayload & {
  id: string;
  personId: string;
  topicId: string | null;
  status: MessageStatus;
  idempotencyKey: string | null;
  notBefore: number;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  errorDetail: string | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  /** The history as times (migration 0004; null when not recorded). */
  claimedAt: number | null;
  callStartedAt: number | null;
  callEndedAt: number | null;
  cancelledAt: number | null;
  cancelReason: string | null;
};

export const toMessage = (r: MessageRow): Message => ({
  id: r.id,
  personId: r.person_id,
  topicId: r.topic_id,
  ...kindAndPayload(r),
  status: r.status as MessageStatus,
  idempotencyKey: r.idempotency_key,
  notBefore: Number(r.not_before),
  attempts: Number(r.attempts),
  providerMessageId: r.provider_message_id,
  errorCode: r.error_code,
  errorDetail: r.error_detail,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  sentAt: r.sent_at === null ? null : Number(r.sent_at),
  claimedAt: msOrNull(r.claimed_at),
  callStartedAt: msOrNull(r.call_started_at),
  callEndedAt: msOrNull(r.call_ended_at),
  cancelledAt: msOrNull(r.cancelled_at),
  cancelReason: r.cancel_reason ?? null,
});

/** The row's kind with its payload, as written by the service that queued it (domain/messages.ts). */
export const kindAndPayload = (r: Pick<MessageRow, 'kind' | 'payload'>): KindAndPayload =>
  ({
    kind: r.kind as MessageKind,
    payload: parseJson<MessagePayload>(r.payload, {} as MessagePayload),
  }) as KindAndPayload;

const msOrNull = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

export type NewMessage = KindAndPayload & {
  businessId: string;
  personId: string;
  topicId: string | null;
  notBefore: number;
  idempotencyKey?: string | null;
  relatedEventId?: string | null;
};

/** The row `insertMessage` writes (the opt-in's fast path writes it in its own statement). */
export function messageRow(m: NewMessage, now: number): MessageRow {
  return {
    business_id: m.businessId,
    id: newId('msg', now),
    person_id: m.personId,
    topic_id: m.topicId,
    kind: m.kind,
    status: 'queued',
    payload: JSON.stringify(m.payload),
    idempotency_key: m.idempotencyKey ?? null,
    related_event_id: m.relatedEventId ?? null,
    not_before: m.notBefore,
    attempts: 0,
    lease_owner: null,
    lease_until: null,
    provider_message_id: null,
    error_code: null,
    error_detail: null,
    status_at: null,
    created_at: now,
    updated_at: now,
    sent_at: null,
  };
}

export async function insertMessage(q: Q, m: NewMessage, now: number): Promise<MessageRow> {
  const row = messageRow(m, now);
  await q.insertInto('messages').values(row).execute();
  return row;
}

/**
 * The time to record for a cancellation written at `now`: never before the end of the row's last provider call.
 * A row can be cancelled after a failed try's call ended (re-queued, its call times kept) by a writer whose `now`
 * was read before that call ended (an opt-out or a claim that waited for a connection or a lock meanwhile). The
 * cancellation really came after the call (it found the row queued again), so that is the time it is given:
 * the message's history never says it was cancelled during a call it was not.
 */
export const cancelledAtAfterCall = (now: number) =>
  sql<number>`CASE WHEN call_ended_at > CAST(${now} AS bigint) THEN call_ended_at ELSE CAST(${now} AS bigint) END`;

/**
 * Cancels a person's messages that have not left yet, in the caller's transaction (the opt-out's). `topicIds`
 * null means every message, confirmations included. Messages claimed (`sending`) whose provider call has not
 * started are cancelled too: the worker marks a call started only in one atomic step with its last re-check
 * (storage/dispatch/send-start.ts), so it will see this cancellation. A message whose call had started is left as it
 * is:
 * it left before this opt-out, and its outcome is recorded truthfully.
 */
export async function cancelOpenMessages(
  q: Q,
  businessId: string,
  personId: string,
  topicIds: string[] | null,
  reason: string,
  now: number,
): Promise<number> {
  let u = q
    .updateTable('messages')
    .set({
      status: 'cancelled',
      error_code: reason,
      updated_at: now,
      lease_owner: null,
      lease_until: null,
      cancelled_at: cancelledAtAfterCall(now),
      cancel_reason: reason,
    })
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .where('status', 'in', OPEN_STATUSES)
    .where((eb) => eb.or([eb('status', '=', 'queued'), eb('call_started_at', 'is', null)]));
  if (topicIds) {
    if (topicIds.length === 0) return 0;
    u = u.where('topic_id', 'in', topicIds);
  }
  const res = await u.executeTakeFirst();
  return Number(res.numUpdatedRows ?? 0);
}

/**
 * The person's messages whose provider call has started and not ended (no outcome written yet). Read in the
 * opt-out's transaction, under the person's lock: no other call of theirs can start after it commits, so these
 * are the only calls that could still reach the provider after the opt-out is acknowledged.
 */
export async function callsInFlight(q: Q, businessId: string, personId: string): Promise<string[]> {
  const rows = await q
    .selectFrom('messages')
    .select('id')
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .where('status', '=', 'sending')
    .where('call_started_at', 'is not', null)
    .where('call_ended_at', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}

/** Of `ids`, the ones whose call is still in flight (as `callsInFlight` reads it). */
export async function stillInFlight(q: Q, businessId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await q
    .selectFrom('messages')
    .select('id')
    .where('business_id', '=', businessId)
    .where('id', 'in', ids)
    .where(keyedStatus('sending'))
    .where('call_started_at', 'is not', null)
    .where('call_ended_at', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}

/** Sends actually made (sent_at set) to a person since a time, newest first. */
export async function recentSends(q: Q, businessId: string, personId: string, since: number, limit: number) {
  const rows = await q
    .selectFrom('messages')
    .leftJoin('topics', (j) =>
      j.onRef('topics.business_id', '=', 'messages.business_id').onRef('topics.id', '=', 'messages.topic_id'),
    )
    .select(['topics.key as topic_key', 'messages.sent_at'])
    .where('messages.business_id', '=', businessId)
    .where('messages.person_id', '=', personId)
    .where('messages.kind', '=', 'notification')
    .where('messages.sent_at', '>', since)
    .orderBy('messages.sent_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ topicKey: r.topic_key ?? null, sentAt: Number(r.sent_at) }));
}

/** One message, locked for the caller's transaction where the database has row locks (PostgreSQL). */
export async function findMessageForUpdate(q: Q, businessId: string, id: string): Promise<MessageRow | null> {
  let sel = q.selectFrom('messages').selectAll().where('business_id', '=', businessId).where('id', '=', id);
  if (takesRowLocks(q)) sel = sel.forUpdate();
  return (await sel.executeTakeFirst()) ?? null;
}

/**
 * The message a status receipt names: by the provider's id, else by our id (`biz_opaque_callback_data`, which
 * finds a message whose send result was never stored). `lock`: take its row for the caller's transaction where
 * the database has row locks.
 */
export async function findMessageByReceipt(
  q: Q,
  businessId: string,
  providerMessageId: string,
  ourId: string | undefined,
  lock: boolean,
): Promise<MessageRow | null> {
  const by = async (col: 'provider_message_id' | 'id', v: string) => {
    let sel = q.selectFrom('messages').selectAll().where('business_id', '=', businessId).where(col, '=', v);
    if (lock && takesRowLocks(q)) sel = sel.forUpdate();
    return (await sel.executeTakeFirst()) ?? null;
  };
  return (await by('provider_message_id', providerMessageId)) ?? (ourId ? await by('id', ourId) : null);
}
