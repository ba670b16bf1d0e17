import { inSavepoint, type Trx } from '../../storage/db.js';
import { claimInboxRow, finishInboxRow, listPendingInbox, type InboxRef } from '../../storage/whatsapp/inbox-store.js';
import type { ServiceContext } from '../../services/context.js';
import { ingestWhatsAppItemTx } from '../../services/whatsapp/ingest-item.js';
import { lastWebhookPostAt, webhookIngestIdle } from '../../services/whatsapp/store-webhook.js';

/** After this many failed attempts an item is set aside (outcome `failed`) instead of being retried for ever. */
export const MAX_ATTEMPTS = 5;

/** Wait before retrying a held row (unknown wamid, or an attempt that threw): 5 s, 10 s, 20 s … at most 60 s. */
export const retryDelayMs = (attempts: number) => Math.min(60_000, 5000 * 2 ** Math.max(0, attempts - 1));

/**
 * Processes one inbox row: claim, handle, mark, all in one transaction, so the item takes effect exactly once.
 * Returns the outcome, or null when the row was done already or is being done by someone else.
 */
export async function processInboxItem(ctx: ServiceContext, ref: InboxRef): Promise<string | null> {
  try {
    return await ctx.database.transaction((trx) => processInTx(ctx, trx, ref));
  } catch (err) {
    // Rolled back: nothing of the item took effect. Count the attempt in a transaction of its own.
    ctx.logger.error({ err, inbox: ref.id }, 'webhook item failed; it will be retried');
    return ctx.database.transaction(async (trx) => {
      const row = await claimInboxRow(trx, ref);
      if (!row) return null;
      const final = Number(row.attempts) + 1 >= MAX_ATTEMPTS;
      await finishInboxRow(trx, ref, final ? 'failed' : 'retry', final, ctx.clock.now());
      return final ? 'failed' : 'retry';
    });
  }
}

/** Items per processing transaction, and the time after which a transaction takes no further item. */
const TX_MAX_ITEMS = 64;
const TX_BUDGET_MS = 5;

/**
 * While webhook POSTs keep arriving, processing takes at most about a third of the time: after a transaction
 * that took t ms, the next one waits 2·t ms (at most MAX_YIELD_MS) if a POST came in since the last one began.
 * Waiting only for the committer to be idle is not enough: POSTs come in waves, there is an idle moment between
 * any two, and a processing transaction started there holds SQLite's one connection (and, SQLite being
 * synchronous, the event loop) while the next wave waits for its 200. With no POSTs, processing runs flat out.
 */
const YIELD_FACTOR = 2;
const MAX_YIELD_MS = 100;

interface LastTx {
  startedAt: number;
  tookMs: number;
}

async function yieldToIngest(ctx: ServiceContext, last: LastTx): Promise<void> {
  await webhookIngestIdle(ctx.database);
  if (last.tookMs <= 0) return;
  // Let the poll phase read the POSTs that arrived during that transaction before asking whether any did.
  await new Promise((r) => setImmediate(r));
  if (lastWebhookPostAt(ctx.database) < last.startedAt) return;
  await new Promise((r) => setTimeout(r, Math.min(MAX_YIELD_MS, last.tookMs * YIELD_FACTOR)));
  await webhookIngestIdle(ctx.database);
}

/** processInboxBatch, recording when it started and how long it took (for yieldToIngest). */
async function timedBatch(ctx: ServiceContext, refs: InboxRef[], last: LastTx): Promise<number> {
  const startedAt = Date.now();
  const n = await processInboxBatch(ctx, refs);
  last.startedAt = startedAt;
  last.tookMs = Date.now() - startedAt;
  return n;
}

/**
 * Processes rows in arrival order in ONE transaction (one commit, one fsync on SQLite, instead of one per item).
 * If an item throws, that transaction is rolled back whole and the batch runs again with each item inside its own
 * SAVEPOINT: the failing item is rolled back alone and its attempt counted, the others still commit, so each still
 * takes effect exactly once (test/worker/inbox-batch.test.ts). The transaction stops taking items after TX_BUDGET_MS
 * (SQLite's single connection is held meanwhile, and webhook POSTs wait for it). Returns how many of `refs` were
 * handled (a prefix); the caller keeps the rest for the next transaction.
 */
export async function processInboxBatch(ctx: ServiceContext, refs: InboxRef[]): Promise<number> {
  if (refs.length === 0) return 0;
  if (refs.length === 1) {
    await processInboxItem(ctx, refs[0]!);
    return 1;
  }
  try {
    // Optimistic first: the items without a SAVEPOINT each (two round trips per item saved on PostgreSQL). If one
    // throws, the whole transaction is rolled back (nothing of it took effect) and the batch runs again below,
    // each item in its own savepoint, so the failing one is set aside alone.
    const fast = await inOneTx(ctx, refs, processInTx).catch(() => null);
    if (fast !== null) return fast;
    return await inOneTx(ctx, refs, processInSavepoint);
  } catch (err) {
    // The transaction itself failed (commit, or conflicts that outlasted the retries): nothing of it took
    // effect. Each item is then tried in a transaction of its own, so one cannot keep blocking the others.
    ctx.logger.warn({ err, items: refs.length }, 'inbox batch failed; processing its items one by one');
    for (const ref of refs) await processInboxItem(ctx, ref);
    return refs.length;
  }
}

/** A prefix of `refs`, each by `step`, in one transaction that takes no further item after TX_BUDGET_MS. */
function inOneTx(
  ctx: ServiceContext,
  refs: InboxRef[],
  step: (ctx: ServiceContext, trx: Trx, ref: InboxRef) => Promise<string | null>,
): Promise<number> {
  return ctx.database.transaction(async (trx) => {
    const start = Date.now();
    let n = 0;
    while (n < refs.length && (n === 0 || Date.now() - start < TX_BUDGET_MS)) await step(ctx, trx, refs[n++]!);
    return n;
  });
}

/** One item in the caller's transaction: claim, handle, mark. Throws what the handler throws. */
async function processInTx(ctx: ServiceContext, trx: Trx, ref: InboxRef): Promise<string | null> {
  const now = ctx.clock.now();
  const row = await claimInboxRow(trx, ref);
  if (!row) return null;
  const res = await ingestWhatsAppItemTx(ctx, trx, row, now);
  await finishInboxRow(trx, ref, res.outcome, res.final, now);
  return res.outcome;
}

async function processInSavepoint(ctx: ServiceContext, trx: Trx, ref: InboxRef): Promise<string | null> {
  const r = await inSavepoint(trx, 'inbox_item', () => processInTx(ctx, trx, ref));
  if (r.ok) return r.value;
  // Rolled back to the savepoint: nothing of the item took effect. Count the attempt, in the batch's transaction.
  // (A serialisation failure or deadlock concerns the whole transaction: inSavepoint rethrows it for a retry.)
  ctx.logger.error({ err: r.error, inbox: ref.id }, 'webhook item failed; it will be retried');
  const row = await claimInboxRow(trx, ref);
  if (!row) return null;
  const final = Number(row.attempts) + 1 >= MAX_ATTEMPTS;
  await finishInboxRow(trx, ref, final ? 'failed' : 'retry', final, ctx.clock.now());
  return final ? 'failed' : 'retry';
}

/** Processes refs in order, batch after batch, each batch yielding to webhook POSTs first (yieldToIngest). */
async function processInOrder(
  ctx: ServiceContext,
  refs: InboxRef[],
  stopped: () => boolean,
  last: LastTx,
): Promise<number> {
  let i = 0;
  while (i < refs.length && !stopped()) {
    await yieldToIngest(ctx, last);
    i += await timedBatch(ctx, refs.slice(i, i + TX_MAX_ITEMS), last);
  }
  return i;
}

export interface InboxProcessorOptions {
  /** Recovery loop period (startInboxProcessor only). */
  pollMs?: number;
  /** Rows younger than this are left to the in-process path that stored them. */
  graceMs?: number;
  batchSize?: number;
  /** In-process backlog bound; refs beyond it are dropped from memory (the recovery loop finds them). */
  maxQueued?: number;
}

export interface InboxProcessor {
  /** Hands freshly stored rows to the in-process path (after the webhook's commit and response). */
  enqueue(refs: InboxRef[]): void;
  /** One recovery pass over unprocessed rows; returns how many were attempted. */
  runOnce(opts?: { graceMs?: number }): Promise<number>;
  /** Waits for the in-process backlog, then runs passes until nothing due is left. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The webhook inbox's processor. The inbox is the source of truth; the in-memory queues only save the recovery
 * loop a read. People's items are handled before status receipts (G2), each kind in arrival order (a STOP then
 * a START in one batch), several per transaction.
 */
export function createInboxProcessor(ctx: ServiceContext, opts: InboxProcessorOptions = {}): InboxProcessor {
  const batch = opts.batchSize ?? 200;
  const maxQueued = opts.maxQueued ?? 50_000;
  // G2: two queues. People's items (messages, preference changes) always go before status receipts, so a STOP's
  // reply and a START are never queued behind a flood of statuses. Each queue keeps arrival order, so one
  // person's messages keep theirs; statuses concern our own messages and wait (a status for a message not known
  // yet is held and retried anyway).
  const people: InboxRef[] = [];
  const statuses: InboxRef[] = [];
  const queued = () => people.length + statuses.length;
  let pumping: Promise<void> | null = null;
  let pass: Promise<number> | null = null;
  let stopped = false;
  // The processor's last transaction, shared by the in-process queue and the recovery passes.
  const last: LastTx = { startedAt: 0, tookMs: 0 };

  const pump = async () => {
    while (queued() > 0 && !stopped) {
      // Webhook POSTs go first: their answer waits for their commit (and Meta retries slow answers), while
      // processing only has to keep the order and catch up. One bounded wait per transaction, so it cannot starve.
      await yieldToIngest(ctx, last);
      if (stopped) break;
      // Taken at the start of each transaction: a message stored meanwhile overtakes every queued status.
      const fromPeople = people.slice(0, TX_MAX_ITEMS);
      const refs = [...fromPeople, ...statuses.slice(0, TX_MAX_ITEMS - fromPeople.length)];
      const n = await timedBatch(ctx, refs, last);
      // A prefix of `refs` was handled: people's part first, then statuses'.
      const p = Math.min(n, fromPeople.length);
      people.splice(0, p);
      statuses.splice(0, n - p);
    }
  };

  const runPass = async (graceMs: number): Promise<number> => {
    const now = ctx.clock.now();
    const isStopped = () => stopped;
    const refsOf = (rows: { business_id: string; id: string; kind: string }[]) =>
      rows.map((r) => ({ businessId: r.business_id, id: r.id, kind: r.kind }));
    // People's items first (G2), then statuses, each oldest first.
    let n = 0;
    for (const from of ['people', 'statuses'] as const) {
      const fresh = await listPendingInbox(ctx.database.db, {
        held: false,
        receivedBefore: now - graceMs,
        limit: batch,
        from,
      });
      n += await processInOrder(ctx, refsOf(fresh), isStopped, last);
      if (stopped) return n;
    }
    const held = await listPendingInbox(ctx.database.db, { held: true, receivedBefore: now, limit: batch });
    const due = held.filter(
      (r) =>
        !(Number(r.received_at) + retryDelayMs(Number(r.attempts)) > now && now - Number(r.received_at) < 5 * 60_000),
    );
    n += await processInOrder(ctx, refsOf(due), isStopped, last);
    return n;
  };

  const api: InboxProcessor = {
    enqueue(refs) {
      if (stopped) return;
      for (const ref of refs) {
        if (queued() >= maxQueued) break;
        (ref.kind === 'status' ? statuses : people).push(ref);
      }
      pumping ??= pump()
        .catch((err) => {
          // The inbox is the source of truth: drop the in-memory refs and leave the rows to the recovery loop.
          // Re-pumping at once would spin on a persistent failure (a closed database) at full CPU.
          ctx.logger.error({ err }, 'inbox processing stopped; the recovery loop will pick the rows up');
          people.length = 0;
          statuses.length = 0;
        })
        .finally(() => {
          pumping = null;
          if (queued() > 0 && !stopped) api.enqueue([]);
        });
    },
    async runOnce(o = {}) {
      while (pass) await pass;
      pass = runPass(o.graceMs ?? opts.graceMs ?? 2000);
      try {
        return await pass;
      } finally {
        pass = null;
      }
    },
    async drain() {
      while (pumping) await pumping;
      // A bounded number of passes: a held row is not due again within one drain at a fixed time.
      for (let i = 0; i < 100 && (await api.runOnce({ graceMs: 0 })) > 0; i++);
    },
    async stop() {
      stopped = true;
      while (pumping) await pumping;
      while (pass) await pass.catch(() => 0);
    },
  };
  return api;
}

/**
 * The processor with its recovery loop running: what main.ts starts beside the HTTP server. With a `lease`
 * (worker/lease.ts) it is THE processor of the database only while it holds the lease: otherwise it neither
 * processes its own fresh rows nor runs passes, and the holder's recovery pass takes them (within its grace and
 * poll period). Opt-outs do not wait for that: they are recorded at the webhook's commit (G1).
 */
export function startInboxProcessor(
  ctx: ServiceContext,
  opts: InboxProcessorOptions & { lease?: { held(): boolean } } = {},
): InboxProcessor {
  const p = createInboxProcessor(ctx, opts);
  const mine = () => !opts.lease || opts.lease.held();
  let timer: NodeJS.Timeout | null = null;
  let running = true;
  const tick = async () => {
    try {
      if (mine()) await p.runOnce();
    } catch (err) {
      ctx.logger.error({ err }, 'inbox recovery pass failed');
    }
    if (running) timer = setTimeout(tick, opts.pollMs ?? 1000);
  };
  timer = setTimeout(tick, 0);
  return {
    ...p,
    enqueue(refs) {
      if (mine()) p.enqueue(refs);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await p.stop();
    },
  };
}
