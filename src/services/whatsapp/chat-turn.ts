import type { MessageItem } from '../../domain/inbound.js';
import { AppError } from '../../domain/errors.js';
import type { KeywordKind } from '../../domain/chat/keywords.js';
import { SECONDS_MS, type Scope } from '../../domain/consent/model.js';
import type { Business } from '../../storage/business/business-store.js';
import type { Trx } from '../../storage/db.js';
import type { PersonRow } from '../../storage/consent/people-store.js';
import { insertReviewItem } from '../../storage/whatsapp/review-store.js';
import type { ServiceContext } from '../context.js';
import { keywordReplyText, queueReplyTx, replyLanguage, type ReplyPurpose } from '../dispatch/queue-reply.js';
import { recordOptOutTx } from '../consent/record-opt-out.js';
import { preferenceLink } from '../consent/preference-links.js';
import { preferenceUrl } from '../../domain/consent/preference-link-policy.js';
import { confirmationTexts, withLink } from '../../domain/chat/confirmation-texts.js';

/** One inbound WhatsApp message being handled, inside its inbox row's transaction. */
export interface ChatTurn {
  ctx: ServiceContext;
  trx: Trx;
  business: Business;
  person: PersonRow;
  item: MessageItem;
  now: number;
  /** When the person acted: Meta's timestamp, never later than now. */
  occurredAt: number;
}

export const ACTOR = 'webhook:whatsapp';
/** Meta's message timestamps are whole seconds: every consent event from the chat carries that precision. */
export const CHAT_PRECISION_MS = SECONDS_MS;
export const sourceRefOf = (item: MessageItem) => `wa:msg:${item.messageId}`;

/** What every consent event from the chat keeps as proof: the inbound message and who sent it. */
export function chatEvidence(item: MessageItem, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    messageId: item.messageId,
    ...((item.waId ?? item.from) ? { waId: item.waId ?? item.from } : {}),
    ...(item.userId ? { bsuid: item.userId } : {}),
    ...(item.contextMessageId ? { contextMessageId: item.contextMessageId } : {}),
    ...(item.forwarded ? { forwarded: true } : {}),
    ...extra,
  };
}

export const personRef = (person: PersonRow) => ({ key: { personId: person.id }, country: null, timezone: null });
/** The same, for an opt-out: the turn locked its sender first, so the opt-out uses that row (ResolvedRef.held). */
export const heldRef = (person: PersonRow) => ({ ...personRef(person), held: person });

export async function reply(
  t: ChatTurn,
  kind: KeywordKind,
  purpose: ReplyPurpose,
  keywordLanguage: string | null,
): Promise<void> {
  const language = replyLanguage(keywordLanguage, t.person, t.business.policy);
  const text = keywordReplyText(kind, language, t.business);
  // Where the business asks for it, the reply ends with the person's preference link (a line in their language).
  const links = t.business.policy.preferenceLink;
  const url = links?.inKeywordReplies?.includes(kind)
    ? preferenceUrl(links, preferenceLink(t.ctx, t.business.id, t.person.id).path)
    : null;
  const body = withLink(text, confirmationTexts(language).texts, url);
  await queueReplyTx(
    t.trx,
    {
      businessId: t.business.id,
      personId: t.person.id,
      purpose,
      text: body,
      extra: { language, inReplyTo: t.item.messageId },
    },
    t.now,
  );
}

/**
 * An opt-out the person made in the chat. STOP-equivalents (scope all) are acknowledged once, in the chat,
 * in the same transaction; narrower ones (marketing, one topic) are not, since the standard acknowledgement
 * says "no longer receive WhatsApp messages", which would not be true.
 */
export async function chatOptOut(
  t: ChatTurn,
  o: {
    scope: Scope;
    topics?: string[];
    action: string;
    evidence: Record<string, unknown>;
    keywordLanguage?: string | null;
  },
): Promise<string> {
  const r = await recordOptOutTx(
    t.ctx,
    t.trx,
    t.business.id,
    {
      person: { personId: t.person.id },
      scope: o.scope,
      topics: o.topics,
      channel: 'whatsapp',
      action: o.action,
      occurredAt: t.occurredAt,
      precisionMs: CHAT_PRECISION_MS,
      evidence: o.evidence,
      sourceRef: sourceRefOf(t.item),
      actor: ACTOR,
    },
    heldRef(t.person),
    t.now,
  );
  if (r.duplicate) return 'duplicate';
  if (o.scope === 'all') await reply(t, 'opt_out', 'optout_ack', o.keywordLanguage ?? null);
  return o.scope === 'all' ? 'opted_out' : `opted_out_${o.scope}`;
}

export async function review(t: ChatTurn, reason: string, detail: Record<string, unknown>): Promise<void> {
  await insertReviewItem(
    t.trx,
    {
      businessId: t.business.id,
      personId: t.person.id,
      sourceRef: sourceRefOf(t.item),
      reason,
      detail: { messageId: t.item.messageId, ...detail },
    },
    t.now,
  );
}

/**
 * Runs a consent step whose refusal is an outcome, not a failure (a button for an archived topic or a text that
 * no longer passes its checks): the refusal is the inbox row's outcome and the rest of the turn stands.
 * AppErrors are raised before any write, so the transaction is still good.
 */
export async function refusable(run: () => Promise<string>): Promise<string> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof AppError) return `refused:${e.code}`;
    throw e;
  }
}
