import { fail } from '../../domain/errors.js';
import type { OptInBinding } from '../../domain/chat/keywords.js';
import { renderStopHint } from '../../domain/chat/keyword-replies.js';
import { textShownOn } from '../../domain/consent/text-channels.js';
import { ACTOR, CHAT_PRECISION_MS, personRef, reply, review, sourceRefOf, type ChatTurn } from './chat-turn.js';
import { queueReplyTx, replyLanguage } from '../dispatch/queue-reply.js';
import { recordOptInTx } from '../consent/record-opt-in.js';

/**
 * A fresh opt-in keyword ("send JOIN to get delivery updates"): an active opt-in to the topics the keyword is
 * bound to, with the bound text as the text the person was shown. The text must still be registered, pass its
 * checks, cover the topics (record-opt-in.ts) and be one that may be shown on WhatsApp (checked here: the
 * opt-in writer reads no channels). The confirmation record-opt-in queues in this transaction is the answer;
 * when nothing changed (already opted in) the person gets the HELP reply, as for START.
 *
 * A refusal (the text or a topic gone since the keyword was configured) is the inbox row's outcome and a review
 * item, so staff see a keyword that no longer works; nothing is recorded.
 */
export async function joinByKeyword(
  t: ChatTurn,
  binding: OptInBinding,
  evidence: Record<string, unknown>,
  language: string,
): Promise<string> {
  const text = await t.trx
    .selectFrom('consent_texts')
    .select(['channels'])
    .where('business_id', '=', t.business.id)
    .where('hash', '=', binding.textHash)
    .executeTakeFirst();
  if (text && !textShownOn({ channels: JSON.parse(text.channels) as string[] }, 'whatsapp')) {
    fail(
      'TEXT_CHECK_FAILED',
      'The opt-in text bound to this keyword is not one that may be shown on WhatsApp.',
      'textHash',
    );
  }
  const r = await recordOptInTx(
    t.ctx,
    t.trx,
    t.business.id,
    {
      person: { personId: t.person.id },
      topics: [...binding.topics],
      channel: 'whatsapp',
      action: 'sent_keyword',
      textHash: binding.textHash,
      occurredAt: t.occurredAt,
      precisionMs: CHAT_PRECISION_MS,
      evidence,
      sourceRef: sourceRefOf(t.item),
      actor: ACTOR,
      language,
    },
    personRef(t.person),
    t.now,
  );
  if (r.duplicate) return 'duplicate';
  if (r.changed.length === 0) {
    await reply(t, 'help', 'help', language);
    return 'join_nothing_new';
  }
  return 'opted_in_keyword';
}

/** Staff see an opt-in keyword that was refused (its text or topic gone): the business is advertising it. */
export async function reviewRefusedJoin(t: ChatTurn, outcome: string, detail: Record<string, unknown>): Promise<void> {
  if (outcome.startsWith('refused:')) await review(t, 'opt_in_keyword_refused', { ...detail, code: outcome.slice(8) });
}

/**
 * A keyword or intent phrase inside a sentence: nothing is decided (the sentence may mean the opposite), staff
 * review it, and the person, who just wrote and so is inside the service window, is told how to stop everything.
 */
export async function hintStop(t: ChatTurn, keywordLanguage: string): Promise<void> {
  const language = replyLanguage(keywordLanguage, t.person, t.business.policy);
  await queueReplyTx(
    t.trx,
    {
      businessId: t.business.id,
      personId: t.person.id,
      purpose: 'help',
      text: renderStopHint(language, { business: t.business.displayName }),
      extra: { language, inReplyTo: t.item.messageId, rule: 'keyword_in_sentence' },
    },
    t.now,
  );
}
