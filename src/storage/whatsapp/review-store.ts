import type { Kysely } from 'kysely';
import { deliveryOfReviewItem, enqueueDeliveries } from '../webhooks/delivery-enqueue.js';
import type { DB } from '../schema.js';
import { newId } from '../../lib/ids.js';
import { parseJson } from '../json.js';
import { takesRowLocks } from '../db.js';

type Q = Kysely<DB>;

/** Something a person wrote or did that staff should look at; never acted on by itself. */
export interface ReviewItem {
  id: string;
  personId: string | null;
  sourceRef: string;
  reason: string;
  detail: Record<string, unknown>;
  createdAt: number;
  resolvedAt: number | null;
  resolution: string | null;
}

export const toReviewItem = (r: DB['review_items']): ReviewItem => ({
  id: r.id,
  personId: r.person_id,
  sourceRef: r.source_ref,
  reason: r.reason,
  detail: parseJson(r.detail, {}),
  createdAt: Number(r.created_at),
  resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
  resolution: r.resolution,
});

/** One item per source (an inbound message id): a re-processed message never adds a second one. */
export async function insertReviewItem(
  q: Q,
  i: {
    businessId: string;
    personId: string | null;
    sourceRef: string;
    reason: string;
    detail: Record<string, unknown>;
  },
  now: number,
): Promise<void> {
  const id = newId('rev', now);
  const made = await q
    .insertInto('review_items')
    .values({
      business_id: i.businessId,
      id,
      person_id: i.personId,
      source_ref: i.sourceRef,
      reason: i.reason,
      detail: JSON.stringify(i.detail),
      created_at: now,
      resolved_at: null,
      resolution: null,
    })
    .onConflict((oc) => oc.columns(['business_id', 'source_ref']).doNothing())
    .returning('id')
    .executeTakeFirst();
  // Outbound consent webhooks: a new review item is reported in the transaction that created it.
  if (made)
    await enqueueDeliveries(
      q,
      deliveryOfReviewItem({ businessId: i.businessId, id, personId: i.personId, reason: i.reason, createdAt: now }),
    );
}

export async function listReviewItems(
  q: Q,
  businessId: string,
  opts: { status: 'open' | 'resolved' | 'all'; after?: string; limit: number },
): Promise<ReviewItem[]> {
  let sel = q
    .selectFrom('review_items')
    .selectAll()
    .where('business_id', '=', businessId)
    .orderBy('id', 'desc')
    .limit(opts.limit);
  if (opts.status === 'open') sel = sel.where('resolved_at', 'is', null);
  if (opts.status === 'resolved') sel = sel.where('resolved_at', 'is not', null);
  if (opts.after) sel = sel.where('id', '<', opts.after);
  return (await sel.execute()).map(toReviewItem);
}

/** The item, locked for the caller's transaction on PostgreSQL so two staff cannot resolve it twice. */
export async function getReviewItemForUpdate(q: Q, businessId: string, id: string): Promise<ReviewItem | null> {
  let sel = q.selectFrom('review_items').selectAll().where('business_id', '=', businessId).where('id', '=', id);
  if (takesRowLocks(q)) sel = sel.forUpdate();
  const r = await sel.executeTakeFirst();
  return r ? toReviewItem(r) : null;
}

export async function markReviewItemResolved(
  q: Q,
  businessId: string,
  id: string,
  resolution: string,
  now: number,
): Promise<void> {
  await q
    .updateTable('review_items')
    .set({ resolved_at: now, resolution })
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
}
