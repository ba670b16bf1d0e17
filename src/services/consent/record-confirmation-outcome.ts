import { appendEvent, findEventBySource, type EventRow } from '../../storage/consent/consent-store.js';
import type { Trx } from '../../storage/db.js';
import { parseJson } from '../../storage/json.js';
import type { MessageRow } from '../../storage/dispatch/outbox-store.js';
import { lockOrCreatePerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';

export type ConfirmationOutcome = 'sent' | 'failed';

/**
 * The ledger reference of a confirmation message's outcome. The worker (send-time result) and the webhook
 * (Meta's statuses) both write through recordConfirmationOutcomeTx with this reference, and
 * consent_events is unique on it, so each outcome is in the ledger at most once per message whoever sees it first.
 */
export const confirmationOutcomeRef = (messageId: string, outcome: ConfirmationOutcome) =>
  `confirmation_${outcome}:${messageId}`;

/**
 * Whether the person was told: appends `confirmation_sent` or `confirmation_failed` for a confirmation message, in the
 * caller's
 * transaction, once per message and outcome (null when already recorded, or the person is erased).
 * `sent` means WhatsApp accepted it for delivery (the first sent, delivered or read status, or the API's
 * acceptance); a later `failed` is recorded as well, because it happened.
 */
export async function recordConfirmationOutcomeTx(
  ctx: ServiceContext,
  trx: Trx,
  msg: Pick<MessageRow, 'business_id' | 'id' | 'person_id' | 'related_event_id' | 'payload' | 'provider_message_id'>,
  o: { outcome: ConfirmationOutcome; occurredAt: number; evidence?: Record<string, unknown>; actor: string },
  now: number,
): Promise<EventRow | null> {
  const sourceRef = confirmationOutcomeRef(msg.id, o.outcome);
  if (await findEventBySource(trx, msg.business_id, sourceRef)) return null;
  const person = await lockOrCreatePerson(trx, msg.business_id, { personId: msg.person_id }, now);
  if (person.erased_at !== null) return null;
  const payload = parseJson<{ topicKeys?: unknown }>(msg.payload, {});
  const topicKeys = Array.isArray(payload.topicKeys)
    ? payload.topicKeys.filter((k): k is string => typeof k === 'string')
    : [];
  return appendEvent(
    trx,
    person,
    {
      type: o.outcome === 'sent' ? 'confirmation_sent' : 'confirmation_failed',
      scope: 'topics',
      topicKeys,
      channel: 'whatsapp',
      action: 'message_outcome',
      textHash: null,
      occurredAt: o.occurredAt,
      sourceRef,
      actor: o.actor,
      evidence: {
        messageId: msg.id,
        providerMessageId: msg.provider_message_id,
        optInEventId: msg.related_event_id,
        ...o.evidence,
      },
    },
    now,
    ctx.keyring.ledger,
  );
}
