import type { WebhookItem } from '../../domain/inbound.js';
import { MARKETING_STOP_REPLIES, parseChatAction } from '../../domain/chat/actions.js';
import {
  createKeywordMatcher,
  normaliseKeywordText,
  type KeywordConfig,
  type KeywordResult,
} from '../../domain/chat/keywords.js';
import { chatEvidence, chatOptOut, refusable, reply, review, type ChatTurn } from './chat-turn.js';
import { redeemOwnershipCode } from '../capture/redeem-ownership-code.js';
import { queueReplyTx } from '../dispatch/queue-reply.js';
// START lives with the other restore paths: its effect is decided by the projection over the whole ledger.
import { restartAfterStop } from './chat-restart.js';
import { hintStop, joinByKeyword, reviewRefusedJoin } from './chat-join.js';
import { normalisePhone } from '../../lib/phone.js';

type Matcher = (text: string) => KeywordResult;

// Matchers are built once per keyword configuration and sender country (the build is the expensive part) and
// shared: by the settings object first (no serialising on the hot path), then by their JSON.
const byJson = new Map<string, Matcher>();
const byObject = new WeakMap<object, Map<string, Matcher>>();
export function matcherFor(keywords: Record<string, unknown>, country?: string): Matcher {
  const kw = keywords !== null && typeof keywords === 'object' ? keywords : {};
  const countries = kw.countries as Record<string, unknown> | undefined;
  // Only a country the settings name changes the matcher; every other sender shares the plain one.
  const c = country && countries && typeof countries === 'object' && Object.hasOwn(countries, country) ? country : '';
  let perCountry = byObject.get(kw);
  if (!perCountry) byObject.set(kw, (perCountry = new Map()));
  let m = perCountry.get(c);
  if (!m) {
    const key = `${c}|${JSON.stringify(kw)}`;
    m = byJson.get(key) ?? createKeywordMatcher(kw as KeywordConfig, c || undefined);
    if (byJson.size > 500) byJson.clear();
    byJson.set(key, m);
    perCountry.set(c, m);
  }
  return m;
}

/** The country of the sender's number (WhatsApp ids are international digits); none for a business-scoped id only. */
export function senderCountry(item: WebhookItem): string | undefined {
  if (item.kind !== 'message') return undefined;
  const digits = item.waId ?? item.from;
  if (!digits) return undefined;
  const r = normalisePhone(digits);
  return r.ok ? r.country : undefined;
}

const MARKETING_STOPS = new Set(MARKETING_STOP_REPLIES.map(normaliseKeywordText));
const OPT_OUT_ACTIONS = new Set(['optout_all', 'optout_topic', 'notme']);

/**
 * Whether a stored webhook item is, or may be, an opt-out: a STOP keyword or a whole-message intent phrase
 * (any configured language; `matcher` is the sender's, with their country's packs), a tap on
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
      return (
        ours(payload) ||
        [payload, text].some((s) => typeof s === 'string' && MARKETING_STOPS.has(normaliseKeywordText(s))) ||
        isStop(payload) ||
        isStop(text)
      );
    }
    case 'interactive':
      return ours(item.interactive?.id);
    default:
      return false;
  }
}

/**
 * A text message. Only a message that is a keyword or an intent phrase acts (domain/chat/keywords.ts): STOP, its
 * equivalents and the intent phrases opt out of everything, START restores what the latest STOP took, a
 * business's opt-in keyword (JOIN) opts in to its topics with its text, HELP answers. A keyword inside a sentence
 * ("don't stop my order") goes to staff review and, for an opt-out word, gets the reply naming STOP; nothing is
 * decided. Forwarded text counts: it is still this person who sent it.
 */
export async function handleChatText(t: ChatTurn): Promise<string> {
  const text = t.item.text ?? '';
  // A sign-up code from the hosted page, sent by the person from their own WhatsApp: the ownership check.
  const owned = await redeemOwnershipCode(t.ctx, t.trx, t.business.id, {
    text,
    messageId: t.item.messageId,
    occurredAt: t.occurredAt,
    ...((t.item.waId ?? t.item.from) ? { waId: t.item.waId ?? t.item.from } : {}),
    ...(t.person.phone_e164 ? { phone: t.person.phone_e164 } : {}),
    ...(t.item.userId ? { bsuid: t.item.userId } : {}),
  });
  if (owned?.outcome === 'recorded') return owned.duplicate ? 'duplicate' : 'ownership_confirmed';
  if (owned?.outcome === 'refused') {
    await queueReplyTx(
      t.trx,
      {
        businessId: t.business.id,
        personId: t.person.id,
        purpose: 'help',
        text: owned.reply,
        extra: { inReplyTo: t.item.messageId },
      },
      t.now,
    );
    return `ownership_refused:${owned.reason}`;
  }
  const m = matcherFor(t.business.policy.keywords, senderCountry(t.item))(text);
  if (m.type === 'none') return 'inbound';
  // Every automatic decision keeps the rule that made it.
  const evidence = chatEvidence(t.item, { text, keyword: m.keyword, language: m.language, rule: m.rule });
  if (m.type === 'mention') {
    await review(t, 'keyword_mention', { keyword: m.keyword, kind: m.kind, language: m.language, text, rule: m.rule });
    if (m.kind === 'opt_out') await hintStop(t, m.language);
    return 'review_mention';
  }
  switch (m.kind) {
    case 'opt_out':
      return chatOptOut(t, { scope: 'all', action: 'sent_keyword', evidence, keywordLanguage: m.language });
    case 'help':
      await reply(t, 'help', 'help', m.language);
      return 'help';
    case 'opt_in': {
      if (!m.optIn) return refusable(() => restartAfterStop(t, evidence, m.language));
      const binding = m.optIn;
      const outcome = await refusable(() => joinByKeyword(t, binding, evidence, m.language));
      await reviewRefusedJoin(t, outcome, {
        keyword: m.keyword,
        language: m.language,
        text,
        textHash: binding.textHash,
      });
      return outcome;
    }
  }
}
