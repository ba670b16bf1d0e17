import type { MessageItem } from '../../domain/inbound.js';
import { SYSTEM_ACTIONS } from '../../domain/consent/model.js';
import { listTopics, type Business } from '../../storage/business/business-store.js';
import {
  appendEvent,
  findEventBySource,
  getStates,
  projectEvent,
  timedOf,
} from '../../storage/consent/consent-store.js';
import type { Trx } from '../../storage/db.js';
import { messageRow } from '../../storage/dispatch/outbox-store.js';
import { insertReviewItem } from '../../storage/whatsapp/review-store.js';
import { chatIdentity, findChatPerson, lockChatPerson } from '../whatsapp/chat-person.js';
import { ACTOR, CHAT_PRECISION_MS, personRef } from '../whatsapp/chat-turn.js';
import type { ServiceContext } from '../context.js';
import { recordOptOutTx } from './record-opt-out.js';

const PROVIDER_REPORT: (typeof SYSTEM_ACTIONS)[number] = 'provider_report';

/**
 * WhatsApp's `system` / `user_changed_number` (docs/identity-changes.md). Meta tells us, in a message signed
 * with the app secret, that the user behind the old number now uses the new one. In the item's transaction:
 * 1. the old number's consent stops at once: an opt-out of everything with the webhook as evidence, which
 *    cancels every message to it that has not left (the old number may be given to a stranger);
 * 2. what the person had agreed to (opted in or pending, just before) moves to the new number as its own
 *    `opt_in` event on the new number's chain (channel `meta`, action `provider_report`, naming the old person
 *    and the events it carries over), projected like any opt-in (pending under double opt-in);
 * 3. a confirmation is queued to the new number, so the person sees what they receive and can stop it
 *    (and, under double opt-in, must confirm before anything else is sent).
 * Staff still get a review item, so a move is never silent. Without Meta's new WhatsApp id nothing moves.
 */
export async function handleNumberChangeTx(
  ctx: ServiceContext,
  trx: Trx,
  business: Business,
  item: MessageItem,
  now: number,
): Promise<string> {
  const sourceRef = `wa:msg:${item.messageId}`;
  if (await findEventBySource(trx, business.id, sourceRef)) return 'duplicate';
  const occurredAt = Math.min(item.timestampMs, now);
  const newWaId = item.system?.newWaId ?? null;
  const evidence = {
    messageId: item.messageId,
    body: item.system?.body ?? null,
    oldWaId: item.waId ?? item.from ?? null,
    newWaId,
    systemType: 'user_changed_number',
  };
  const review = (personId: string | null, outcome: Record<string, unknown>) =>
    insertReviewItem(
      trx,
      {
        businessId: business.id,
        personId,
        sourceRef,
        reason: 'user_changed_number',
        detail: { ...evidence, ...outcome },
      },
      now,
    );

  const oldId = chatIdentity(item);
  const old = oldId ? await findChatPerson(trx, business.id, oldId) : null;
  if (!old || old.erased_at !== null) {
    await review(null, { outcome: 'unknown_person' });
    return 'number_change_unknown_person';
  }
  const topics = await listTopics(trx, business.id);
  const before = await getStates(trx, business.id, old.id);
  const agreed = topics.filter(
    (t) => t.archivedAt === null && ['opted_in', 'pending'].includes(before.get(t.id)?.status ?? ''),
  );

  const stop = await recordOptOutTx(
    ctx,
    trx,
    business.id,
    {
      person: { personId: old.id },
      scope: 'all',
      channel: 'meta',
      action: PROVIDER_REPORT,
      occurredAt,
      precisionMs: CHAT_PRECISION_MS,
      evidence: { ...evidence, notes: "number changed: this number is no longer the person's" },
      sourceRef,
      actor: ACTOR,
    },
    personRef(old),
    now,
  );

  const newIdentity = newWaId ? chatIdentity({ waId: newWaId }) : null;
  if (!newIdentity || agreed.length === 0) {
    await review(old.id, { outcome: 'old_number_stopped', stopEventId: stop.event.id, moved: [] });
    return 'number_change_stopped';
  }
  const moved = await lockChatPerson(trx, business.id, newIdentity, now);
  if (moved.id === old.id || moved.erased_at !== null) {
    await review(old.id, {
      outcome: 'old_number_stopped',
      stopEventId: stop.event.id,
      moved: [],
      newPersonId: moved.id,
    });
    return 'number_change_stopped';
  }
  if (!moved.language && old.language) {
    await trx
      .updateTable('people')
      .set({ language: old.language })
      .where('business_id', '=', business.id)
      .where('id', '=', moved.id)
      .execute();
    moved.language = old.language;
  }
  const event = await appendEvent(
    trx,
    moved,
    {
      type: 'opt_in',
      scope: 'topics',
      topicKeys: agreed.map((t) => t.key),
      channel: 'meta',
      action: PROVIDER_REPORT,
      textHash: null,
      occurredAt,
      precisionMs: CHAT_PRECISION_MS,
      sourceRef: `${sourceRef}:moved`,
      actor: ACTOR,
      evidence: {
        ...evidence,
        movedFromPersonId: old.id,
        movedFromEventIds: agreed.map((t) => before.get(t.id)!.eventId),
        oldNumberStopEventId: stop.event.id,
      },
    },
    now,
    ctx.keyring.ledger,
  );
  const written = await projectEvent(trx, moved, agreed, timedOf(event), {
    doubleOptIn: business.policy.doubleOptIn,
    now,
  });
  const changed = written.filter((w) => w.changed).map((w) => w.topic.key);
  let confirmationId: string | null = null;
  if (changed.length > 0) {
    const m = messageRow(
      {
        businessId: business.id,
        personId: moved.id,
        topicId: null,
        kind: 'confirmation',
        relatedEventId: event.id,
        notBefore: now,
        payload: {
          topicKeys: changed,
          doubleOptIn: business.policy.doubleOptIn,
          language: moved.language ?? business.policy.defaultLanguage,
          reason: 'number_changed',
        },
      },
      now,
    );
    await trx.insertInto('messages').values(m).execute();
    confirmationId = m.id;
  }
  await review(old.id, {
    outcome: 'moved',
    stopEventId: stop.event.id,
    newPersonId: moved.id,
    movedEventId: event.id,
    moved: changed,
    confirmationMessageId: confirmationId,
  });
  return 'number_change_moved';
}
