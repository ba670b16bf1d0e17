import type { WebhookItem } from '../../domain/inbound.js';
import type { ServiceContext } from '../context.js';

/**
 * Erasure covers what arrives after it. Meta keeps sending delivery receipts for messages already sent, and each
 * carries the recipient's number: a receipt for a number this business has erased is stored without it (the
 * message id and status stay, so it still settles the message and a retry is still recognised), instead of
 * bringing the number back into the inbox for its retention period. Receipts are matched by the keyed hash the
 * erasure left in `suppressions`, so no number is kept to match against.
 */
export async function blankErasedReceipts(
  ctx: ServiceContext,
  items: WebhookItem[],
  routes: ReadonlyMap<string, string>,
): Promise<number> {
  const candidates: { item: Extract<WebhookItem, { kind: 'status' }>; businessId: string; hash: string }[] = [];
  for (const item of items) {
    if (item.kind !== 'status' || !item.recipientId) continue;
    const businessId = routes.get(item.phoneNumberId);
    if (!businessId || !/^\d{6,15}$/.test(item.recipientId)) continue;
    candidates.push({ item, businessId, hash: ctx.keyring.phoneHash(`+${item.recipientId}`) });
  }
  if (candidates.length === 0) return 0;
  const rows = await ctx.database.db
    .selectFrom('suppressions')
    .select(['business_id', 'phone_hash'])
    .where('reason', '=', 'erased')
    .where('business_id', 'in', [...new Set(candidates.map((c) => c.businessId))])
    .where('phone_hash', 'in', [...new Set(candidates.map((c) => c.hash))])
    .execute();
  if (rows.length === 0) return 0;
  const erased = new Set(rows.map((r) => `${r.business_id}\n${r.phone_hash}`));
  let blanked = 0;
  for (const c of candidates) {
    if (!erased.has(`${c.businessId}\n${c.hash}`)) continue;
    delete c.item.recipientId;
    c.item.raw = { erased: true };
    blanked++;
  }
  return blanked;
}
