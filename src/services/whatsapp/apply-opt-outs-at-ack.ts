import type { WebhookItem } from '../../domain/inbound.js';
import { AppError } from '../../domain/errors.js';
import type { KeywordResult } from '../../domain/chat/keywords.js';
import { parsePolicy } from '../../storage/business/business-store.js';
import { inSavepoint, type Trx } from '../../storage/db.js';
import { finishInboxRow, type InboxRef, type InboxRow, type NewInboxItem } from '../../storage/whatsapp/inbox-store.js';
import { isOptOutItem, matcherFor, senderCountry } from './chat-keywords.js';
import type { ServiceContext } from '../context.js';
import { ingestWhatsAppItemTx } from './ingest-item.js';

export interface StoredItem {
  ref: InboxRef;
  item: NewInboxItem;
  /** received_at of the stored row. */
  receivedAt: number;
}

/**
 * G1, webhook half: an opt-out is committed by the time its webhook is answered. Runs inside the transaction
 * that stores a webhook POST's items (the group commit of store-whatsapp-webhook.ts), after the inbox INSERT:
 * every freshly stored item that is an opt-out (isOptOutItem: a STOP keyword or whole-message intent phrase, an
 * opt-out button or list reply, Meta's marketing setting turned off) is handled right there by the processor's own code
 * (ingestWhatsAppItemTx: person, service window, record-opt-out with this transaction, its cancellations, the
 * acknowledgement reply) and its inbox row is marked processed, so the processor never takes it again: one code
 * path, exactly once. Everything else (statuses, START, HELP, plain text) is left to the processor.
 *
 * Returns the ids of the rows handled here. A handler that refuses (an AppError: a person erased already, a
 * topic that no longer exists) is rolled back to its savepoint and left to the processor, as before: nothing
 * can be sent to that scope anyway. Any other failure (the database) fails the whole POST, which Meta then
 * retries: a STOP is never acknowledged without its opt-out.
 */
export async function applyOptOutsAtAckTx(
  ctx: ServiceContext,
  trx: Trx,
  stored: StoredItem[],
  now: number,
): Promise<Set<string>> {
  const handled = new Set<string>();
  // Only people's items can opt out; a flood of statuses costs nothing here.
  const candidates = stored.filter(
    (s) =>
      s.item.businessId !== '' &&
      s.item.outcome === undefined &&
      (s.item.kind === 'message' || s.item.kind === 'preference'),
  );
  if (candidates.length === 0) return handled;
  const keywords = await keywordSettings(trx, candidates);
  for (const s of candidates) {
    const item = s.item.payload as WebhookItem;
    // The sender's matcher, as handleChatText builds it (their country's packs first), so the selection here
    // stays a superset of what the handler records as an opt-out, intent phrases included.
    const businessMatcher = () => {
      const kw = keywords.get(s.item.businessId);
      return kw ? matcherFor(kw, senderCountry(item)) : NO_MATCH;
    };
    if (!isOptOutItem(item, businessMatcher)) continue;
    const row: InboxRow = {
      business_id: s.ref.businessId,
      id: s.ref.id,
      provider: s.item.provider,
      dedupe_key: s.item.dedupeKey,
      kind: s.item.kind,
      payload: JSON.stringify(s.item.payload),
      received_at: s.receivedAt,
      processed_at: null,
      outcome: null,
      attempts: 0,
    };
    const r = await inSavepoint(trx, 'ack_opt_out', async () => {
      const res = await ingestWhatsAppItemTx(ctx, trx, row, now);
      await finishInboxRow(trx, s.ref, res.outcome, res.final, now);
      return res;
    });
    if (r.ok) {
      if (r.value.final) handled.add(s.ref.id);
    } else {
      if (!(r.error instanceof AppError)) throw r.error;
      ctx.logger.warn(
        { inbox: s.ref.id, code: r.error.code },
        'opt-out refused at the webhook; left to the inbox processor',
      );
    }
  }
  return handled;
}

const NO_MATCH = (): KeywordResult => ({ type: 'none' });

// Keyword settings by the policy text they were parsed from. The text is read from the database in this
// transaction, so the cache can only save the parse, never answer with an older configuration (in this process or
// another); the same settings object then finds its built matchers (matcherFor) without serialising.
const byPolicy = new Map<string, Record<string, unknown>>();

/**
 * Each business's keyword settings, read in the transaction: one statement, only for businesses with a text or button.
 */
async function keywordSettings(trx: Trx, candidates: StoredItem[]): Promise<Map<string, Record<string, unknown>>> {
  const ids = [
    ...new Set(candidates.filter((s) => needsKeywords(s.item.payload as WebhookItem)).map((s) => s.item.businessId)),
  ];
  const out = new Map<string, Record<string, unknown>>();
  if (ids.length === 0) return out;
  const rows = await trx.selectFrom('businesses').select(['id', 'policy']).where('id', 'in', ids).execute();
  for (const r of rows) {
    let kw = byPolicy.get(r.policy);
    if (!kw) {
      kw = (parsePolicy(r.policy).keywords ?? {}) as Record<string, unknown>;
      if (byPolicy.size > 1000) byPolicy.clear();
      byPolicy.set(r.policy, kw);
    }
    out.set(r.id, kw);
  }
  return out;
}

const needsKeywords = (item: WebhookItem) =>
  item.kind === 'message' && (item.type === 'text' || item.type === 'button');
