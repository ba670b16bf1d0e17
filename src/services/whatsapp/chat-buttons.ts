import { MARKETING_STOP_REPLIES, parseChatAction, type ChatAction } from '../../domain/chat/actions.js';
import { normaliseKeywordText } from '../../domain/chat/keywords.js';
import { parseJson } from '../../storage/json.js';
import { matcherFor } from './chat-keywords.js';
import {
  ACTOR,
  CHAT_PRECISION_MS,
  chatEvidence,
  chatOptOut,
  personRef,
  refusable,
  sourceRefOf,
  type ChatTurn,
} from './chat-turn.js';
import { recordConfirmedTx } from '../consent/record-confirmed.js';
import { recordOptInTx } from '../consent/record-opt-in.js';

const MARKETING_STOPS = new Set(MARKETING_STOP_REPLIES.map(normaliseKeywordText));

/**
 * A quick-reply tap on a template (`type: button`). Our own ids act as in handleChatAction. Otherwise the
 * payload comes back as the business set it, or as the button's label: Meta's marketing opt-out button
 * ("Stop promotions", payload OPTOUT_MARKETING) stops marketing only; a label that is itself an opt-out keyword
 * ("STOP") stops everything, as typing it would. Any other button only refreshes the window.
 */
export async function handleTemplateButton(t: ChatTurn): Promise<string> {
  const { payload, text } = t.item.button ?? {};
  const action = parseChatAction(payload);
  if (action) return handleChatAction(t, action, 'tapped_button');
  const said = [payload, text].filter((s): s is string => typeof s === 'string' && s.trim() !== '');
  const evidence = chatEvidence(t.item, { buttonPayload: payload ?? null, buttonText: text ?? null });
  if (said.some((s) => MARKETING_STOPS.has(normaliseKeywordText(s)))) {
    return chatOptOut(t, { scope: 'marketing', action: 'tapped_button', evidence });
  }
  const matcher = matcherFor(t.business.policy.keywords);
  const stop = said.map((s) => matcher(s)).find((m) => m.type === 'match' && m.kind === 'opt_out');
  if (stop && stop.type === 'match')
    return chatOptOut(t, { scope: 'all', action: 'tapped_button', evidence, keywordLanguage: stop.language });
  return 'ignored_button';
}

/** A reply to buttons or a list we sent in the chat (`type: interactive`). Only our own ids act. */
export async function handleInteractive(t: ChatTurn): Promise<string> {
  const i = t.item.interactive;
  const action = parseChatAction(i?.id);
  if (!i || !action) return 'ignored_interactive';
  return handleChatAction(t, action, i.type === 'list_reply' ? 'selected_list_item' : 'tapped_button');
}

/**
 * What a tap on one of our ids does. Every one is an active action of the person, with the inbound message and
 * the message they tapped on (`contextMessageId`) as evidence.
 */
export async function handleChatAction(
  t: ChatTurn,
  a: ChatAction,
  action: 'tapped_button' | 'selected_list_item',
): Promise<string> {
  const evidence = chatEvidence(t.item, { replyId: t.item.interactive?.id ?? t.item.button?.payload });
  switch (a.type) {
    case 'dismiss':
      return 'dismissed';
    case 'optout_all':
      return chatOptOut(t, { scope: 'all', action, evidence });
    case 'optout_topic':
      return refusable(() => chatOptOut(t, { scope: 'topics', topics: [a.topic], action, evidence }));
    case 'notme':
      // "This was not me": whoever signed this number up, its owner wants nothing from us.
      return chatOptOut(t, {
        scope: 'all',
        action: 'tapped_button',
        evidence: { ...evidence, notes: 'not me', optInEventId: a.eventId },
      });
    case 'confirm': {
      const r = await recordConfirmedTx(
        t.ctx,
        t.trx,
        t.business.id,
        {
          personId: t.person.id,
          optInEventId: a.eventId,
          channel: 'whatsapp',
          action,
          occurredAt: t.occurredAt,
          precisionMs: CHAT_PRECISION_MS,
          evidence,
          sourceRef: sourceRefOf(t.item),
          actor: ACTOR,
        },
        t.now,
      );
      return r.outcome === 'confirmed' ? 'confirmed' : `confirm_${r.outcome}`;
    }
    case 'optin':
      return refusable(async () => {
        const text = await t.trx
          .selectFrom('consent_texts')
          .select(['topic_keys'])
          .where('business_id', '=', t.business.id)
          .where('hash', '=', a.textHash)
          .executeTakeFirst();
        if (!text) return 'refused:UNKNOWN_TEXT';
        const r = await recordOptInTx(
          t.ctx,
          t.trx,
          t.business.id,
          {
            person: { personId: t.person.id },
            topics: parseJson<string[]>(text.topic_keys, []),
            channel: 'whatsapp',
            action,
            textHash: a.textHash,
            occurredAt: t.occurredAt,
            precisionMs: CHAT_PRECISION_MS,
            evidence,
            sourceRef: sourceRefOf(t.item),
            actor: ACTOR,
          },
          personRef(t.person),
          t.now,
        );
        return r.duplicate ? 'duplicate' : 'opted_in';
      });
  }
}
