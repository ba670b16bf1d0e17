import type { StatusItem } from '../../domain/inbound.js';
import type { Trx } from '../../storage/db.js';
import { findMessageByReceipt } from '../../storage/dispatch/outbox-store.js';
import { lockOrCreatePerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';
import { recordConfirmationOutcomeTx } from '../consent/record-confirmation-outcome.js';
import { recordOptOutTx } from '../consent/record-opt-out.js';

/** How long a status for a wamid we do not know yet is kept and retried (the send may not be recorded yet). */
export const UNMATCHED_HOLD_MS = 5 * 60_000;

// Delivery progress only moves forward; `failed` is final and wins whenever it arrives (wire contracts 8.3).
const RANK: Record<string, number> = { sent: 1, delivered: 2, read: 3, played: 3 };
const MARKETING_STOPPED = 131050;
const UNDELIVERABLE = 131026;

export interface StatusResult {
  outcome: string;
  /** False: keep the inbox row and try again later (unknown wamid within the hold). */
  final: boolean;
}

/**
 * One receipt for a message we sent, in the caller's transaction: moves the message's status forward
 * (duplicates and out-of-order receipts change nothing), and acts on what the receipt says about the person:
 * 131050 is Meta's marketing stop (an opt-out of marketing), 131026 an unreachable number (not an opt-out).
 */
export async function applyStatusTx(
  ctx: ServiceContext,
  trx: Trx,
  businessId: string,
  s: StatusItem,
  receivedAt: number,
  now: number,
): Promise<StatusResult> {
  const first = await findMessageByReceipt(trx, businessId, s.messageId, s.bizOpaque, false);
  if (!first) return { outcome: 'unmatched', final: now - receivedAt >= UNMATCHED_HOLD_MS };
  // Person before message, the order an opt-out takes them in (it cancels the person's messages).
  await lockOrCreatePerson(trx, businessId, { personId: first.person_id }, now);
  const msg = (await findMessageByReceipt(trx, businessId, s.messageId, s.bizOpaque, true)) ?? first;

  const failed = s.status === 'failed';
  const newRank = RANK[s.status];
  if (!failed && newRank === undefined) return { outcome: 'ignored', final: true };
  const stale = msg.status === 'failed' || (!failed && newRank! <= (RANK[msg.status] ?? 0));
  const ts = s.timestampMs;

  if (!stale) {
    const err = s.errors[0];
    await trx
      .updateTable('messages')
      .set({
        status: failed ? 'failed' : s.status === 'played' ? 'read' : s.status,
        status_at: ts,
        provider_message_id: msg.provider_message_id ?? s.messageId,
        // A message Meta accepted counts as sent (frequency caps) even if the worker never recorded it.
        sent_at: !failed && msg.sent_at === null ? ts : msg.sent_at,
        error_code: failed ? (err ? String(err.code) : 'failed') : msg.error_code,
        error_detail: failed
          ? err
            ? [err.title, err.details].filter(Boolean).join(': ') || null
            : null
          : msg.error_detail,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
      })
      .where('business_id', '=', businessId)
      .where('id', '=', msg.id)
      .execute();
    if (msg.kind === 'confirmation') {
      await recordConfirmationOutcomeTx(
        ctx,
        trx,
        { ...msg, provider_message_id: msg.provider_message_id ?? s.messageId },
        {
          outcome: failed ? 'failed' : 'sent',
          occurredAt: ts,
          actor: 'webhook:whatsapp',
          evidence: { status: s.status, ...(failed && s.errors[0] ? { errorCode: s.errors[0].code } : {}) },
        },
        now,
      );
    }
  }

  const codes = new Set(s.errors.map((e) => e.code));
  if (failed && codes.has(MARKETING_STOPPED)) {
    await recordOptOutTx(
      ctx,
      trx,
      businessId,
      {
        person: { personId: msg.person_id },
        scope: 'marketing',
        channel: 'meta',
        action: 'provider_report',
        occurredAt: Math.min(ts, now),
        evidence: {
          providerMessageId: s.messageId,
          messageId: msg.id,
          errorCode: MARKETING_STOPPED,
          detail: s.errors.find((e) => e.code === MARKETING_STOPPED)?.title ?? null,
        },
        // The worker records a 131050 it gets in the send response under the same reference: one opt-out per message.
        sourceRef: `meta-131050:${msg.id}`,
        actor: 'webhook:whatsapp',
      },
      { key: { personId: msg.person_id }, country: null, timezone: null },
      now,
    );
  }
  if (failed && codes.has(UNDELIVERABLE)) {
    // Not on WhatsApp (or cannot receive): the gate refuses as UNREACHABLE; consent is untouched.
    await trx
      .updateTable('people')
      .set({ unreachable_at: ts, updated_at: now })
      .where('business_id', '=', businessId)
      .where('id', '=', msg.person_id)
      .where('unreachable_at', 'is', null)
      .execute();
  }
  if (!stale && (s.status === 'delivered' || s.status === 'read')) {
    // Delivered after an "undeliverable": the number is reachable again (the person installed WhatsApp).
    await trx
      .updateTable('people')
      .set({ unreachable_at: null, updated_at: now })
      .where('business_id', '=', businessId)
      .where('id', '=', msg.person_id)
      .where('unreachable_at', '<', ts)
      .execute();
  }
  return { outcome: stale ? 'status_stale' : `status_${failed ? 'failed' : s.status}`, final: true };
}
