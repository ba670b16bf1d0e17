import type { MessageItem, PreferenceItem, StatusItem, WebhookItem } from '../../domain/inbound.js';
import { getBusiness, type Business } from '../../storage/business/business-store.js';
import type { Trx } from '../../storage/db.js';
import type { InboxRow } from '../../storage/whatsapp/inbox-store.js';
import { parseJson } from '../../storage/json.js';
import { insertReviewItem } from '../../storage/whatsapp/review-store.js';
import { applyStatusTx } from './apply-message-status.js';
import { handleInteractive, handleTemplateButton } from './chat-buttons.js';
import { handleChatText } from './chat-keywords.js';
import { chatIdentity, findChatPerson, lockChatPerson, touchWindow } from './chat-person.js';
import { ACTOR, heldRef, personRef, type ChatTurn } from './chat-turn.js';
import type { ServiceContext } from '../context.js';
import { recordOptOutTx } from '../consent/record-opt-out.js';
import { handleNumberChangeTx } from '../consent/change-number.js';
import { applyQualityItemTx } from '../quality/apply-quality-item.js';

export interface ItemResult {
  /** The inbox row's outcome: what the item did (opted_out, help, review_mention, status_read, ignored…). */
  outcome: string;
  /** False only for a status whose message is not known yet: the row is kept and tried again. */
  final: boolean;
}

const done = (outcome: string): ItemResult => ({ outcome, final: true });

/**
 * Handles one stored WhatsApp webhook item in the caller's transaction (which also marks the inbox row), so
 * the item takes effect exactly once however often Meta delivers it and however many processors run.
 */
export async function ingestWhatsAppItemTx(
  ctx: ServiceContext,
  trx: Trx,
  row: InboxRow,
  now: number,
): Promise<ItemResult> {
  const item = parseJson<WebhookItem | null>(row.payload, null);
  if (!item) return done('ignored');
  const business = row.business_id ? await getBusiness(trx, row.business_id) : null;
  if (!business) return done('unroutable');
  switch (item.kind) {
    case 'message':
      return done(await handleMessage(ctx, trx, business, item, now));
    case 'status':
      return applyStatusTx(ctx, trx, business.id, item as StatusItem, Number(row.received_at), now);
    case 'preference':
      return done(await handlePreference(ctx, trx, business, item, now));
    case 'quality':
      return done(await applyQualityItemTx(ctx, trx, business.id, item, now));
    default:
      return done('ignored');
  }
}

async function handleMessage(
  ctx: ServiceContext,
  trx: Trx,
  business: Business,
  item: MessageItem,
  now: number,
): Promise<string> {
  if (item.type === 'system') return handleSystem(ctx, trx, business, item, now);
  const id = chatIdentity(item);
  if (!id) return 'ignored';
  // Every message the person sends opens or refreshes the service window, whatever its type. It never creates consent.
  const person = await lockChatPerson(trx, business.id, id, now);
  const occurredAt = Math.min(item.timestampMs, now);
  await touchWindow(trx, person, occurredAt);
  const turn: ChatTurn = { ctx, trx, business, person, item, now, occurredAt };
  switch (item.type) {
    case 'text':
      return handleChatText(turn);
    case 'button':
      return handleTemplateButton(turn);
    case 'interactive':
      return handleInteractive(turn);
    default:
      // reaction, image, location, order, unsupported…: the window is refreshed, nothing else.
      return 'ignored';
  }
}

/**
 * WhatsApp's own notices in the chat, not written by the person: they do not open the window. A changed
 * number stops the old number and moves consent to the new one (docs/identity-changes.md); a changed
 * identity goes to staff (wire contracts 8.8).
 */
async function handleSystem(
  ctx: ServiceContext,
  trx: Trx,
  business: Business,
  item: MessageItem,
  now: number,
): Promise<string> {
  const kind = item.system?.type;
  if (kind !== 'user_changed_number' && kind !== 'customer_identity_changed') return 'ignored';
  // A changed number stops the old one and moves consent to the new one (services/consent/change-number.ts).
  if (kind === 'user_changed_number') return handleNumberChangeTx(ctx, trx, business, item, now);
  const id = chatIdentity(item);
  const person = id ? await findChatPerson(trx, business.id, id) : null;
  await insertReviewItem(
    trx,
    {
      businessId: business.id,
      personId: person?.id ?? null,
      sourceRef: `wa:msg:${item.messageId}`,
      reason: kind,
      detail: { messageId: item.messageId, body: item.system?.body ?? null, newWaId: item.system?.newWaId ?? null },
    },
    now,
  );
  return `review_${kind}`;
}

/**
 * Meta's "Offers and announcements" setting (user_preferences, or the older system message). Stop is the person's
 * own choice, made inside WhatsApp: an opt-out of this business's marketing topics. Resume opts nobody in:
 * it only lifts Meta's own block, the person did not agree to anything of ours. It is kept as a review item
 * so staff can see it (and, say, invite the person to opt in again).
 */
async function handlePreference(
  ctx: ServiceContext,
  trx: Trx,
  business: Business,
  p: PreferenceItem,
  now: number,
): Promise<string> {
  const id = chatIdentity({ waId: p.waId, userId: p.userId });
  if (!id) return 'ignored';
  const sourceRef = p.dedupeKey;
  const evidence = {
    waId: p.waId ?? null,
    bsuid: p.userId ?? null,
    category: p.category,
    value: p.value,
    detail: p.detail ?? null,
    metaTimestamp: p.timestampMs,
  };
  if (p.value === 'resume') {
    const person = await findChatPerson(trx, business.id, id);
    await insertReviewItem(
      trx,
      {
        businessId: business.id,
        personId: person?.id ?? null,
        sourceRef,
        reason: 'meta_marketing_resumed',
        detail: evidence,
      },
      now,
    );
    return 'review_marketing_resumed';
  }
  const person = await lockChatPerson(trx, business.id, id, now);
  const r = await recordOptOutTx(
    ctx,
    trx,
    business.id,
    {
      person: { personId: person.id },
      scope: 'marketing',
      channel: 'meta',
      action: 'toggled_setting',
      occurredAt: Math.min(p.timestampMs, now),
      evidence,
      sourceRef,
      actor: ACTOR,
    },
    heldRef(person),
    now,
  );
  return r.duplicate ? 'duplicate' : 'opted_out_marketing';
}
