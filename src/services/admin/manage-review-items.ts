import { fail } from '../../domain/errors.js';
import {
  getReviewItemForUpdate,
  listReviewItems,
  markReviewItemResolved,
  type ReviewItem,
} from '../../storage/whatsapp/review-store.js';
import type { ServiceContext } from '../context.js';
import { recordOptOutTx } from '../consent/record-opt-out.js';
import { awaitCallsInFlight, type CallHold } from '../consent/await-calls-in-flight.js';
import { writeAudit } from '../../storage/audit/audit-store.js';

export type ReviewResolution = 'opted_out' | 'no_action';

export function listReview(
  ctx: ServiceContext,
  businessId: string,
  opts: { status: 'open' | 'resolved' | 'all'; after?: string; limit: number },
): Promise<ReviewItem[]> {
  return listReviewItems(ctx.database.db, businessId, opts);
}

/**
 * Staff decide what a flagged message meant. `opted_out` records an opt-out of everything on the person's behalf
 * (action staff_request, the item as evidence), in the same transaction as the resolution; `no_action` only
 * closes the item. An item is resolved once.
 */
export async function resolveReviewItem(
  ctx: ServiceContext,
  businessId: string,
  id: string,
  input: { resolution: ReviewResolution; note?: string; actor: string },
): Promise<{ item: ReviewItem; optOutEventId: string | null }> {
  const holds: CallHold[] = [];
  const r = await ctx.database.transaction(async (trx) => {
    holds.length = 0;
    const now = ctx.clock.now();
    const item = await getReviewItemForUpdate(trx, businessId, id);
    if (!item) return fail('NOT_FOUND', 'No such review item.', 'id');
    if (item.resolvedAt !== null) fail('CONFLICT', `This item was already resolved (${item.resolution}).`, 'id');
    let optOutEventId: string | null = null;
    if (input.resolution === 'opted_out') {
      if (!item.personId) fail('VALIDATION_FAILED', 'This item names no person to opt out.', 'resolution');
      const r = await recordOptOutTx(
        { ...ctx, callHolds: holds },
        trx,
        businessId,
        {
          person: { personId: item.personId! },
          scope: 'all',
          channel: 'whatsapp',
          action: 'staff_request',
          evidence: {
            reviewItemId: item.id,
            reviewReason: item.reason,
            source: item.sourceRef,
            detail: item.detail,
            ...(input.note ? { note: input.note } : {}),
          },
          sourceRef: `review:${item.id}`,
          actor: input.actor,
        },
        { key: { personId: item.personId! }, country: null, timezone: null },
        now,
      );
      optOutEventId = r.event.id;
    }
    await markReviewItemResolved(trx, businessId, item.id, input.resolution, now);
    await writeAudit(trx, businessId, now, {
      actor: input.actor,
      action: 'review.resolve',
      target: item.id,
      detail: {
        resolution: input.resolution,
        personId: item.personId,
        optOutEventId,
        ...(input.note ? { note: input.note } : {}),
      },
    });
    return { item: { ...item, resolvedAt: now, resolution: input.resolution }, optOutEventId };
  });
  // Answered once no call started before the opt-out can still reach the provider.
  await awaitCallsInFlight(ctx, holds);
  return r;
}
