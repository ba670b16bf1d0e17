import type { WebhookItem } from '../../channels/whatsapp-cloud/payload.js';
import { MARKETING_STOP_REPLIES, parseChatAction } from '../../domain/chat/actions.js';
import { createKeywordMatcher, normaliseKeywordText, type KeywordConfig, type KeywordResult } from '../../domain/chat/keywords.js';
import { chatEvidence, chatOptOut, refusable, reply, review, type ChatTurn } from './chat-turn.js';
import { redeemOwnershipCode } from '../capture/redeem-ownership-code.js';
import { queueReplyTx } from '../dispatch/queue-reply.js';
// START lives with the other restore paths: its effect is decided by the projection over the whole ledger.
import { restartAfterStop } from './chat-restart.js';

// Matchers are built once per keyword configuration (the build is the expensive part) and shared.
const matchers = new Map<string, (text: string) => KeywordResult>();
export function matcherFor(keywords: Record<string, unknown>): (text: string) => KeywordResult {
  const key = JSON.stringify(keywords ?? {});
  let m = matchers.get(key);
  if (!m) {
    m = createKeywordMatcher(keywords as KeywordConfig);
    if (matchers.size > 500) matchers.clear();
    matchers.set(key, m);
  }
  return m;
}

const MARKETING_STOPS = new Set(MARKETING_STOP_REPLIES.map(normaliseKeywordText));
const OPT_OUT_ACTIONS = new Set(['optout_all', 'optout_topic', 'notme']);

/**
 * Whether a stored webhook item is, or may be, an opt-out: a STOP keyword (any configured language), a tap on
 * one of our opt-out ids ("stop all", "stop this topic", "not me"), a template button that is Meta's marketing
 * opt-out or a STOP keyword, or Meta's marketing setting turned off. The webhook's acknowledging transaction
 * handles exactly these items at once (apply-opt-outs-at-ack.ts); it must be a superset of what the handlers
 * (handleChatText, chat-buttons.ts, the preference handler) record as an opt-out, and stays cheap for
 * everything else: no database, one keyword match for a text.
 */
export function isOptOutItem(item: WebhookItem, matcher: () => (text: string) => KeywordResult): boolean {
  if (item.kind === 'preference') return item.value !== 'resume';
  if (item.kind !== 'message') return false;
  const isStop = (s: string | undefined) => {
    if (typeof s !== 'string' || s.trim() === '') return false;
    const m = matcher()(s);
    return m.type === 'match' && m.kind === 'opt_out';
  };
  const ours = (id: string | undefined) => OPT_OUT_ACTIONS.has(parseChatAction(id)?.type ?? '');
  switch (item.type) {
    case 'text':
      return isStop(item.text);
    case 'button': {
      const { payload, text } = item.button ?? {};
      return ours(payload) || [payload, text].some((s) => typeof s === 'string' && MARKETING_STOPS.has(normaliseKeywordText(s))) || isStop(payload) || isStop(text);
    }
    case 'interactive':
      return ours(item.interactive?.id);
    default:
      return false;
  }
}

/**
 * A text message. Only a message that is a keyword acts (domain/chat/keywords.ts): STOP and its equivalents opt out
 * of everything, START restores what the latest STOP took, HELP answers. A keyword inside a sentence
 * ("don't stop my order") goes to staff review and does nothing else. Forwarded text counts: it is still
 * this person who sent it.
 */
export async function handleChatText(t: ChatTurn): Promise<string> {
  const text = t.item.text ?? '';
  // A sign-up code from the hosted page, sent by the person from their own WhatsApp: the ownership check.
  const owned = await redeemOwnershipCode(t.ctx, t.trx, t.business.id, {
    text, messageId: t.item.messageId, occurredAt: t.occurredAt,
    ...(t.item.waId ?? t.item.from ? { waId: t.item.waId ?? t.item.from } : {}),
    ...(t.person.phone_e164 ? { phone: t.person.phone_e164 } : {}),
    ...(t.item.userId ? { bsuid: t.item.userId } : {}),
  });
  if (owned?.outcome === 'recorded') return owned.duplicate ? 'duplicate' : 'ownership_confirmed';
  if (owned?.outcome === 'refused') {
    await queueReplyTx(t.trx, { businessId: t.business.id, personId: t.person.id, purpose: 'help', text: owned.reply, extra: { inReplyTo: t.item.messageId } }, t.now);
    return `ownership_refused:${owned.reason}`;
  }
  const m = matcherFor(t.business.policy.keywords)(text);
  if (m.type === 'none') return 'inbound';
  const evidence = chatEvidence(t.item, { text, keyword: m.keyword, language: m.language });
  if (m.type === 'mention') {
    await review(t, 'keyword_mention', { keyword: m.keyword, kind: m.kind, language: m.language, text });
    return 'review_mention';
  }
  switch (m.kind) {
    case 'opt_out':
      return chatOptOut(t, { scope: 'all', action: 'sent_keyword', evidence, keywordLanguage: m.language });
    case 'help':
      await reply(t, 'help', 'help', m.language);
      return 'help';
    case 'opt_in':
      return refusable(() => restartAfterStop(t, evidence, m.language));
  }
}
