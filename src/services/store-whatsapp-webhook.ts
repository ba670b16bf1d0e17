import type { WebhookItem } from '../channels/whatsapp-cloud/payload.js';
import { findChannelByExternalId } from '../storage/channel-store.js';
import { insertInboxGroups, type InboxRef, type NewInboxItem } from '../storage/inbox-store.js';
import type { ServiceContext } from './context.js';
import { groupCommit, type GroupCommitter } from '../storage/group-commit.js';
import { commitThenSync } from '../storage/deferred-sync.js';
import type { Database } from '../storage/db.js';

export interface StoreResult {
  received: number;
  /** Items not seen before (a retry of a stored item stores nothing). */
  stored: number;
  /** Stored rows that need processing, in the POST's order. */
  fresh: InboxRef[];
}

const phoneNumberIdOf = (item: WebhookItem): string | undefined => ('phoneNumberId' in item ? item.phoneNumberId : undefined);

/**
 * Stores every item of one verified webhook POST in the inbox, in one transaction, before Meta gets its 200.
 * Each item is routed by phone_number_id to its business; an unknown number is stored under business '' as
 * `unroutable` and never processed, and so are fields we do not handle (`ignored`): kept, so nothing Meta sent
 * is lost, and a redelivery is recognised.
 */
export async function storeWhatsAppWebhook(ctx: ServiceContext, items: WebhookItem[]): Promise<StoreResult> {
  const now = ctx.clock.now();
  const owners = new Map<string, string>();
  for (const id of new Set(items.map(phoneNumberIdOf).filter((v): v is string => v !== undefined))) {
    const owner = await ownerOf(ctx, id);
    if (owner) owners.set(id, owner);
  }
  const rows = new Map<string, NewInboxItem>();
  for (const item of items) {
    const pnid = phoneNumberIdOf(item);
    const businessId = (pnid && owners.get(pnid)) ?? '';
    const handled = item.kind === 'message' || item.kind === 'status' || item.kind === 'preference';
    const outcome = businessId === '' ? (handled ? 'unroutable' : 'ignored') : handled ? undefined : 'ignored';
    const key = `${businessId}\n${item.dedupeKey}`;
    // The same element twice in one POST is one item.
    if (!rows.has(key)) rows.set(key, { businessId, provider: 'whatsapp_cloud', dedupeKey: item.dedupeKey, kind: item.kind, payload: item, ...(outcome ? { outcome } : {}) });
  }
  const list = [...rows.values()];
  lastPost.set(ctx.database, Date.now());
  const r = await writerFor(ctx.database)({ list, now });
  return { received: items.length, stored: r.inserted, fresh: r.fresh };
}

// Routing: which business owns a phone_number_id. Read on every POST, changed rarely: cached for a moment
// (a number configured through this process is seen at once: putWhatsAppChannel clears the webhook caches).
const ROUTE_TTL_MS = 2000;
const routes = new Map<string, { businessId: string | null; until: number }>();
async function ownerOf(ctx: ServiceContext, phoneNumberId: string): Promise<string | null> {
  const hit = routes.get(phoneNumberId);
  if (hit && hit.until > Date.now()) return hit.businessId;
  const account = await findChannelByExternalId(ctx.database.db, ctx.keyring, 'whatsapp_cloud', phoneNumberId);
  if (routes.size > 10_000) routes.clear();
  // An unknown number is cached only briefly too, so a number configured in another process is picked up.
  routes.set(phoneNumberId, { businessId: account?.businessId ?? null, until: Date.now() + ROUTE_TTL_MS });
  return account?.businessId ?? null;
}
export function forgetWebhookRoutes(): void {
  routes.clear();
}

type Writer = GroupCommitter<{ list: NewInboxItem[]; now: number }, { inserted: number; fresh: InboxRef[] }>;
const writers = new WeakMap<Database, Writer>();

/**
 * Resolves once no webhook POST of this process is waiting for its commit. The inbox processor waits for this
 * before each of its transactions: a POST is answered only after its commit and Meta times out slow answers,
 * while processing may lag a little behind.
 */
export function webhookIngestIdle(database: Database): Promise<void> {
  return writers.get(database)?.idle() ?? Promise.resolve();
}

const lastPost = new WeakMap<Database, number>();
/** When this process last began storing a webhook POST (0: never): tells the processor whether POSTs are flowing. */
export function lastWebhookPostAt(database: Database): number {
  return lastPost.get(database) ?? 0;
}

/** One group-committing writer per database: concurrent POSTs share a transaction (and its fsync). */
function writerFor(database: Database): Writer {
  let w = writers.get(database);
  if (!w) {
    w = groupCommit(async (batch: { list: NewInboxItem[]; now: number }[]) =>
      // All POSTs' rows in one INSERT (per chunk); each POST still gets its own counts and processing order.
      // The 200s wait for the fsync, but the event loop does not (commitThenSync).
      commitThenSync(database, async (trx) => insertInboxGroups(trx, batch)),
    );
    writers.set(database, w);
  }
  return w;
}
