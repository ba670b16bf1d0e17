import type { WebhookItem } from '../channels/whatsapp-cloud/payload.js';
import { MARKETING_STOP_REPLIES, parseChatAction } from '../domain/chat-actions.js';
import { ACTIVE_ACTIONS } from '../domain/consent.js';
import { createKeywordMatcher, normaliseKeywordText, type KeywordConfig, type KeywordResult } from '../domain/keywords.js';
import { topicsAgreedAfter } from '../domain/restore-after-stop.js';
import { getTopicsByKeys } from '../storage/business-store.js';
import { getStates } from '../storage/consent-store.js';
import { parseJson } from '../storage/json.js';
import { ACTOR, chatEvidence, chatOptOut, personRef, refusable, reply, review, sourceRefOf, type ChatTurn } from './chat-turn.js';
import { recordOptInTx } from './record-opt-in.js';
import { redeemOwnershipCode } from './redeem-ownership-code.js';
import { queueReplyTx } from './queue-reply.js';

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
 * A text message. Only a message that is a keyword acts (domain/keywords.ts): STOP and its equivalents opt out
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

/** The person's latest STOP of their own (a keyword, a button), not an opt-out staff or a provider recorded. */
async function latestOwnStop(t: ChatTurn) {
  return t.trx
    .selectFrom('consent_events')
    .select(['id', 'seq', 'occurred_at'])
    .where('business_id', '=', t.business.id)
    .where('person_id', '=', t.person.id)
    .where('type', '=', 'opt_out')
    .where('scope', '=', 'all')
    .where('action', 'in', [...ACTIVE_ACTIONS])
    .orderBy('occurred_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * START (UNSTOP, ALTA…): an active re-opt-in, but only to what the person had before their latest STOP and
 * that the STOP still holds (a topic they opted into again since, or out of again some other way, is left
 * alone). With nothing to restore, nothing is recorded and the HELP text answers. The P4 confirmation that
 * recordOptInTx queues lists the topics restored (and carries Confirm under double opt-in), so it is the
 * acknowledgement; `optin_ack` is queued only when no confirmation was.
 */
async function restartAfterStop(t: ChatTurn, evidence: Record<string, unknown>, language: string): Promise<string> {
  const stop = await latestOwnStop(t);
  if (!stop) {
    await reply(t, 'help', 'help', language);
    return 'start_nothing_to_restore';
  }
  const before = await t.trx
    .selectFrom('consent_events')
    .select(['id', 'type', 'topic_keys', 'occurred_at'])
    .where('business_id', '=', t.business.id)
    .where('person_id', '=', t.person.id)
    .where('seq', '<', Number(stop.seq))
    .orderBy('seq')
    .execute();
  const agreed = topicsAgreedAfter(before.map((e) => ({ id: e.id, type: e.type, topicKeys: parseJson<string[]>(e.topic_keys, []), occurredAt: Number(e.occurred_at) })));
  const states = await getStates(t.trx, t.business.id, t.person.id);
  const topics = (await getTopicsByKeys(t.trx, t.business.id, agreed)).filter(
    (tp) => tp.archivedAt === null && t.business.policy.allowedCategories.includes(tp.category) && states.get(tp.id)?.status === 'opted_out' && states.get(tp.id)?.eventId === stop.id,
  );
  if (topics.length === 0) {
    await reply(t, 'help', 'help', language);
    return 'start_nothing_to_restore';
  }
  const r = await recordOptInTx(t.ctx, t.trx, t.business.id, {
    person: { personId: t.person.id }, topics: topics.map((tp) => tp.key), channel: 'whatsapp', action: 'sent_keyword',
    occurredAt: t.occurredAt, evidence: { ...evidence, restoresStopEventId: stop.id }, sourceRef: sourceRefOf(t.item), actor: ACTOR,
    language: language !== 'en' ? language : undefined,
  }, personRef(t.person), t.now);
  if (r.duplicate) return 'duplicate';
  if (!r.confirmationMessageId) await reply(t, 'opt_in', 'optin_ack', language);
  return 'opted_in';
}
