import type { Insertable, Kysely, SelectQueryBuilder } from 'kysely';
import type { DB } from '../schema.js';
import { takesRowLocks } from '../db.js';
import { newId } from '../../lib/ids.js';

type Q = Kysely<DB>;
export type InboxRow = DB['inbox'];
type InboxRowInsert = Insertable<DB['inbox']>;

/** An inbox row's key: what the in-process queue and the recovery loop hand around. */
export interface InboxRef {
  businessId: string;
  id: string;
  /** The item's kind when known: the processor takes people's items (anything but `status`) before status receipts. */
  kind?: string;
}

/**
 * Kinds of pending rows that come from people (messages, Meta's preference changes): processed before statuses (G2).
 * Meta's quality and template updates ride with them: rare, and a paused template should stop sends soon.
 */
export const PERSON_KINDS: readonly string[] = Object.freeze(['message', 'preference', 'quality']);

export interface NewInboxItem {
  businessId: string;
  provider: string;
  dedupeKey: string;
  kind: string;
  payload: unknown;
  /** Set for items that need no processing (unroutable, unknown fields): stored as already decided. */
  outcome?: string;
}

// Rows per INSERT: 10 bound values each, far below either database's parameter limit.
const CHUNK = 500;

/**
 * Stores webhook items, skipping those already stored (same business and provider id: a provider retry).
 * Returns how many rows were new, and those that still need processing (in input order). Run inside the
 * webhook's transaction.
 */
export interface InsertedGroup {
  inserted: number;
  /** Rows that need processing, in the POST's order. */
  fresh: InboxRef[];
  /** The stored item of each `fresh` row (same order): what the acknowledging transaction may act on at once. */
  freshItems: NewInboxItem[];
}

export async function insertInboxItems(q: Q, items: NewInboxItem[], now: number): Promise<InsertedGroup> {
  return (await insertInboxGroups(q, [{ list: items, now }]))[0]!;
}

/**
 * insertInboxItems for several webhook POSTs at once (a group commit), in as few INSERT statements as the chunk
 * size allows instead of one per POST; each POST still gets its own counts and its own fresh rows. Rows go in
 * POST order, so an item sent by two POSTs of the group is stored by the first, as it would be one after the other.
 */
export async function insertInboxGroups(
  q: Q,
  groups: { list: NewInboxItem[]; now: number }[],
): Promise<InsertedGroup[]> {
  const out = groups.map(() => ({ inserted: 0, fresh: [] as { ref: InboxRef; at: number }[] }));
  // Which POST, and which position in it, each new id belongs to: RETURNING promises no order.
  const owner = new Map<string, { group: number; at: number }>();
  const rows: InboxRowInsert[] = [];
  groups.forEach((g, gi) => {
    // Ids sorted before use: within one POST they then follow its order, which the recovery loop keeps.
    const ids = g.list.map(() => newId('inb', g.now)).sort();
    g.list.forEach((it, j) => {
      owner.set(ids[j]!, { group: gi, at: j });
      rows.push({
        business_id: it.businessId,
        id: ids[j]!,
        provider: it.provider,
        dedupe_key: it.dedupeKey,
        kind: it.kind,
        payload: JSON.stringify(it.payload),
        received_at: g.now,
        processed_at: it.outcome ? g.now : null,
        outcome: it.outcome ?? null,
        attempts: 0,
      });
    });
  });
  for (let i = 0; i < rows.length; i += CHUNK) {
    const rowsIn = await q
      .insertInto('inbox')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['business_id', 'dedupe_key']).doNothing())
      .returning(['business_id', 'id', 'processed_at', 'kind'])
      .execute();
    for (const r of rowsIn) {
      const o = owner.get(r.id)!;
      out[o.group]!.inserted++;
      if (r.processed_at === null)
        out[o.group]!.fresh.push({ ref: { businessId: r.business_id, id: r.id, kind: r.kind }, at: o.at });
    }
  }
  // Processing follows the order of the POST (a STOP then a START in one batch).
  return out.map((o, gi) => {
    const fresh = o.fresh.sort((a, b) => a.at - b.at);
    return {
      inserted: o.inserted,
      fresh: fresh.map((f) => f.ref),
      freshItems: fresh.map((f) => groups[gi]!.list[f.at]!),
    };
  });
}

/**
 * Takes one unprocessed row for the caller's transaction. On PostgreSQL the row stays locked until commit and a
 * concurrent processor skips it (SKIP LOCKED); on SQLite transactions are serialised, so re-reading
 * `processed_at IS NULL` inside the transaction is the claim. Null: done already, or being done elsewhere.
 */
export async function claimInboxRow(q: Q, ref: InboxRef): Promise<InboxRow | null> {
  let sel = q
    .selectFrom('inbox')
    .selectAll()
    .where('business_id', '=', ref.businessId)
    .where('id', '=', ref.id)
    .where('processed_at', 'is', null);
  if (takesRowLocks(q)) sel = sel.forUpdate().skipLocked();
  return (await sel.executeTakeFirst()) ?? null;
}

/** Records the result of one attempt; `final` sets processed_at so the row is never taken again. */
export async function finishInboxRow(q: Q, ref: InboxRef, outcome: string, final: boolean, now: number): Promise<void> {
  await q
    .updateTable('inbox')
    .set((eb) => ({ outcome, attempts: eb('attempts', '+', 1), processed_at: final ? now : null }))
    .where('business_id', '=', ref.businessId)
    .where('id', '=', ref.id)
    .execute();
}

export interface PendingInboxFilter {
  receivedBefore: number;
  held: boolean;
  /** People's items (PERSON_KINDS) or status receipts; default both. */
  from?: 'people' | 'statuses';
}
type PendingRow = Pick<InboxRow, 'business_id' | 'id' | 'received_at' | 'attempts' | 'outcome' | 'kind'>;

function pendingOf<S extends SelectQueryBuilder<DB, 'inbox', object>>(sel: S, f: PendingInboxFilter): S {
  let s = sel.where('processed_at', 'is', null) as S;
  if (f.from === 'people') s = s.where('kind', 'in', [...PERSON_KINDS]) as S;
  if (f.from === 'statuses') s = s.where('kind', '=', 'status') as S;
  if (f.held) return s.where('outcome', 'is not', null) as S;
  return s.where('outcome', 'is', null).where('received_at', '<=', f.receivedBefore) as S;
}

/**
 * Unprocessed rows, oldest first: fresh ones (outcome null) received before `receivedBefore`, or all held ones;
 * at most `limit`. Found business by business: a read without locks names the businesses of the oldest pending
 * rows (the partial index inbox_pending_kind, migration 0007, serves either kind without reading the other's
 * backlog), then each business's rows are read with business_id in the filter (inbox_pending_business, 0010),
 * so with Citus each is a one-shard read (docs/scale-out.md). Each business's rows keep their arrival order.
 */
export async function listPendingInbox(q: Q, opts: PendingInboxFilter & { limit: number }): Promise<PendingRow[]> {
  const owners = await pendingOf(q.selectFrom('inbox').select('business_id'), opts)
    .orderBy('received_at')
    .orderBy('id')
    .limit(opts.limit)
    .execute();
  const out: PendingRow[] = [];
  for (const businessId of new Set(owners.map((r) => r.business_id))) {
    if (out.length >= opts.limit) break;
    const columns = ['business_id', 'id', 'received_at', 'attempts', 'outcome', 'kind'] as const;
    const rows = await pendingOf(q.selectFrom('inbox').select(columns), opts)
      .where('business_id', '=', businessId)
      .orderBy('received_at')
      .orderBy('id')
      .limit(opts.limit - out.length)
      .execute();
    out.push(...rows);
  }
  return out;
}
