import type { WebhookItem } from '../../domain/inbound.js';
import { insertInboxGroups, type InboxRef, type NewInboxItem } from '../../storage/whatsapp/inbox-store.js';
import type { ServiceContext } from '../context.js';
import { groupCommit, type GroupCommitter } from '../../storage/group-commit.js';
import type { Database } from '../../storage/db.js';
import { applyOptOutsAtAckTx } from './apply-opt-outs-at-ack.js';
import { awaitCallsInFlight, type CallHold } from '../consent/await-calls-in-flight.js';

export interface StoreResult {
  received: number;
  /** Items not seen before (a retry of a stored item stores nothing). */
  stored: number;
  /** Stored rows that need processing, in the POST's order. */
  fresh: InboxRef[];
}

const phoneNumberIdOf = (item: WebhookItem): string | undefined =>
  'phoneNumberId' in item ? item.phoneNumberId : undefined;

/**
 * Stores every item of one verified webhook POST in the inbox, in one transaction, before Meta gets its 200.
 * `routes` (phone_number_id → business) comes from the ownership check that chose the verifying secret
 * (services/whatsapp/webhook-owner.ts), so an item is stored only for the business whose app signed it. A number
 * not configured here (signed by the shared app) is stored under business '' as `unroutable` and never processed,
 * and so are fields we do not handle (`ignored`): kept, so nothing Meta sent is lost, and a redelivery is recognised.
 */
export async function storeWhatsAppWebhook(
  ctx: ServiceContext,
  items: WebhookItem[],
  routes: ReadonlyMap<string, string>,
): Promise<StoreResult> {
  const now = ctx.clock.now();
  const rows = new Map<string, NewInboxItem>();
  for (const item of items) {
    const pnid = phoneNumberIdOf(item);
    const businessId =
      (pnid ? routes.get(pnid) : item.kind === 'quality' ? routes.get(`waba:${item.wabaId}`) : undefined) ?? '';
    const handled =
      item.kind === 'message' || item.kind === 'status' || item.kind === 'preference' || item.kind === 'quality';
    const outcome = businessId === '' ? (handled ? 'unroutable' : 'ignored') : handled ? undefined : 'ignored';
    const key = `${businessId}\n${item.dedupeKey}`;
    // The same element twice in one POST is one item.
    if (!rows.has(key))
      rows.set(key, {
        businessId,
        provider: 'whatsapp_cloud',
        dedupeKey: item.dedupeKey,
        kind: item.kind,
        payload: item,
        ...(outcome ? { outcome } : {}),
      });
  }
  const list = [...rows.values()];
  writerFor(ctx).lastPostAt = Date.now();
  const r = await writerFor(ctx).commit({ list, now });
  // The STOPs this POST's group committed are acknowledged only once the calls already on their way to those
  // people ended (awaited here, not in the committer, so other POSTs are not held up).
  await awaitCallsInFlight(ctx, r.holds);
  return { received: items.length, stored: r.inserted, fresh: r.fresh };
}

type Writer = GroupCommitter<
  { list: NewInboxItem[]; now: number },
  { inserted: number; fresh: InboxRef[]; holds: CallHold[] }
>;
/** The POSTs' group committer, bound to the database handle (storage/caches.ts), and when it last took a POST. */
interface IngestWriter {
  commit: Writer;
  lastPostAt: number;
}
const WRITER = Symbol('webhook ingest writer');

/**
 * Resolves once no webhook POST of this process is waiting for its commit. The inbox processor waits for this
 * before each of its transactions: a POST is answered only after its commit and Meta times out slow answers,
 * while processing may lag a little behind.
 */
export function webhookIngestIdle(database: Database): Promise<void> {
  return database.caches.peek<IngestWriter>(WRITER)?.commit.idle() ?? Promise.resolve();
}

/** When this process last began storing a webhook POST (0: never): tells the processor whether POSTs are flowing. */
export function lastWebhookPostAt(database: Database): number {
  return database.caches.peek<IngestWriter>(WRITER)?.lastPostAt ?? 0;
}

/**
 * One group-committing writer per database: concurrent POSTs share a transaction (and its fsync). The opt-outs
 * among the fresh items are applied in that same transaction (applyOptOutsAtAckTx), so when a POST is answered
 * 200 its STOPs are already opt-outs and their queued messages cancelled; those rows are then done, not fresh.
 */
function writerFor(ctx: ServiceContext): IngestWriter {
  const database = ctx.database;
  return database.caches.bind(WRITER, () => ({
    lastPostAt: 0,
    commit: groupCommit(async (batch: { list: NewInboxItem[]; now: number }[]) => {
      const holds: CallHold[] = [];
      // All POSTs' rows in one INSERT (per chunk); each POST still gets its own counts and processing order.
      // The 200s wait for the fsync, but the event loop does not (syncedTransaction).
      return database.syncedTransaction(async (trx) => {
        holds.length = 0;
        const groups = await insertInboxGroups(trx, batch);
        const stored = groups.flatMap((g, gi) =>
          g.fresh.map((ref, j) => ({ ref, item: g.freshItems[j]!, receivedAt: batch[gi]!.now })),
        );
        const done = await applyOptOutsAtAckTx({ ...ctx, callHolds: holds }, trx, stored, ctx.clock.now());
        return groups.map((g) => ({
          inserted: g.inserted,
          fresh: done.size === 0 ? g.fresh : g.fresh.filter((r) => !done.has(r.id)),
          holds,
        }));
      });
    }),
  }));
}
