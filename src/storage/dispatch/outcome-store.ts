/**
 * The dispatch worker's outcome writes: a try's answer (sent, retry, failed) and its call times, written only while
 * the row is still that try's (same attempts), so a late answer never overwrites a newer state it did not see.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { describeMessage } from '../../domain/message-history.js';
import { keyedStatus } from '../residual.js';
import type { RowKey } from './dispatch-store.js';

type Q = Kysely<DB>;

/**
 * The common case of writeSent for many messages of one business in ONE statement: rows still leased to
 * this try (`sending`, same attempts) become `sent`. Returns the ids written; the others (a status changed
 * while in flight) go through writeSent one by one. Portable SQL: a VALUES list in a CTE, UPDATE … FROM. The key is
 * joined column for column (business_id too, not as a constant) so that PostgreSQL looks each row up by its primary
 * key: with the business as a constant it scanned every row of the business and hash-joined (storage/residual.ts).
 */
export async function writeSentBatch(
  q: Q,
  businessId: string,
  rows: { id: string; attempt: number; providerMessageId: string; at: number; call: CallTimes }[],
  now: number,
): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const values = sql.join(
    rows.map(
      (r) =>
        sql`(${businessId}, ${r.id}, ${r.attempt}, ${r.providerMessageId}, ${r.at}, ${r.call.startedAt}, ${r.call.endedAt})`,
    ),
  );
  const res = await sql<{ id: string }>`
    WITH v(business_id, id, attempts, wamid, at, started, ended) AS (VALUES ${values})
    UPDATE messages SET status = 'sent', provider_message_id = v.wamid, sent_at = CAST(v.at AS bigint), updated_at = ${now},
      error_code = NULL, error_detail = NULL, lease_owner = NULL, lease_until = NULL,
      call_started_at = COALESCE(messages.call_started_at, CAST(v.started AS bigint)), call_ended_at = CAST(v.ended AS bigint)
    FROM v
    WHERE messages.business_id = v.business_id AND messages.id = v.id AND messages.attempts = CAST(v.attempts AS integer)
      AND ${keyedStatus('sending', 'messages.status')}
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
    status: 'sent',
    provider_message_id: s.providerMessageId,
    sent_at: s.at,
    updated_at: s.at,
    lease_owner: null,
    lease_until: null,
    ...callTimes(s.call),
  };
  const r = await q
    .updateTable('messages')
    .set({ ...base, error_code: null, error_detail: null })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where(keyedStatus('sending'))
    .executeTakeFirst();
  if (Number(r.numUpdatedRows ?? 0) === 1) return { written: true, raced: null };
  const cur = await q
    .selectFrom('messages')
    .select(['status', 'error_code', 'claimed_at', 'call_started_at', 'call_ended_at', 'cancelled_at', 'cancel_reason'])
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .executeTakeFirst();
  if (!cur || !SENT_OVER.includes(cur.status)) {
    // Moved on already (a status webhook came first): the call's times are still this try's history.
    if (cur && s.call) await writeCallEnded(q, key, attempt, s.call);
    return { written: false, raced: null };
  }
  const num = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));
  const note = describeMessage('sent', {
    claimedAt: num(cur.claimed_at),
    callStartedAt: num(cur.call_started_at) ?? s.call?.startedAt ?? null,
    callEndedAt: s.call?.endedAt ?? null,
    cancelledAt: num(cur.cancelled_at),
    cancelReason: cur.cancel_reason ?? (cur.status === 'cancelled' ? cur.error_code : null),
  });
  await q
    .updateTable('messages')
    .set({ ...base, error_code: cur.error_code, error_detail: note })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where(keyedStatus(cur.status))
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
      status: 'queued',
      not_before: s.notBefore,
      error_code: s.errorCode,
      error_detail: s.detail.slice(0, 1000),
      lease_owner: null,
      lease_until: null,
      updated_at: s.now,
      ...(s.payload !== undefined ? { payload: s.payload } : {}),
      ...callTimes(s.call),
    })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where(keyedStatus('sending'))
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
export async function writeFailed(
  q: Q,
  key: RowKey,
  attempt: number,
  s: { errorCode: string; detail: string; now: number; call?: CallTimes },
): Promise<boolean> {
  const r = await q
    .updateTable('messages')
    .set({
      status: 'failed',
      error_code: s.errorCode,
      error_detail: s.detail.slice(0, 1000),
      lease_owner: null,
      lease_until: null,
      updated_at: s.now,
      ...callTimes(s.call),
    })
    .where('business_id', '=', key.businessId)
    .where('id', '=', key.id)
    .where('attempts', '=', attempt)
    .where(keyedStatus(['sending', 'cancelled', 'unknown']))
    .executeTakeFirst();
  if (Number(r.numUpdatedRows ?? 0) === 1) return true;
  if (s.call) await writeCallEnded(q, key, attempt, s.call);
  return false;
}
