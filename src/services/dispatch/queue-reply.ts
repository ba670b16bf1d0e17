import { fail } from '../../domain/errors.js';
import { windowOpen as serviceWindowOpen } from '../../domain/gate/dispatch-verdict.js';
import type { ReplyPayload, ReplyPurpose } from '../../domain/messages.js';
import { renderKeywordReply, type KeywordReplyOverrides } from '../../domain/chat/keyword-replies.js';
import type { KeywordKind } from '../../domain/chat/keywords.js';
import type { BusinessPolicy } from '../../domain/gate/policy.js';
import type { Trx } from '../../storage/db.js';
import { insertMessage, toMessage, type Message, type MessageRow } from '../../storage/dispatch/outbox-store.js';
import { findPerson, type PersonRow } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';
import { resolvePersonRef, type PersonRefInput } from '../consent/person-ref.js';

export { SERVICE_WINDOW_MS } from '../../domain/gate/dispatch-verdict.js';

/** The person's customer-service window is open (the rule: domain/gate/dispatch-verdict.ts). */
export const windowOpen = (person: Pick<PersonRow, 'last_inbound_at'>, now: number): boolean =>
  serviceWindowOpen(person.last_inbound_at === null ? null : Number(person.last_inbound_at), now);

export type { ReplyPurpose } from '../../domain/messages.js';

/** Queues a chat reply in the caller's transaction (its payload: domain/messages.ts `ReplyPayload`). */
export async function queueReplyTx(
  trx: Trx,
  r: { businessId: string; personId: string; purpose: ReplyPurpose; text: string; extra?: Partial<ReplyPayload> },
  now: number,
): Promise<MessageRow> {
  return insertMessage(
    trx,
    {
      businessId: r.businessId,
      personId: r.personId,
      topicId: null,
      kind: 'reply',
      notBefore: now,
      payload: { ...r.extra, text: r.text, purpose: r.purpose },
    },
    now,
  );
}

/**
 * Per-business reply texts. BusinessPolicy has no field for them yet; `policy.keywordReplies` (language →
 * kind → text, `{business}` substituted) is read when present so one can be added without touching this.
 */
export function replyOverrides(policy: BusinessPolicy): KeywordReplyOverrides | undefined {
  const o = (policy as unknown as { keywordReplies?: unknown }).keywordReplies;
  return o && typeof o === 'object' && !Array.isArray(o) ? (o as KeywordReplyOverrides) : undefined;
}

/**
 * The language of an automatic reply: the keyword's when it belongs to one language's pack (BAJA → es), else the
 * person's, else the business's default. English-pack words (STOP) say nothing about the person.
 */
export function replyLanguage(
  keywordLanguage: string | null,
  person: Pick<PersonRow, 'language'>,
  policy: BusinessPolicy,
): string {
  if (keywordLanguage && keywordLanguage !== 'en') return keywordLanguage;
  return person.language ?? policy.defaultLanguage ?? 'en';
}

export function keywordReplyText(
  kind: KeywordKind,
  language: string,
  business: { displayName: string; policy: BusinessPolicy },
): string {
  return renderKeywordReply(kind, language, { business: business.displayName }, replyOverrides(business.policy));
}

/** The person a reply or prompt goes to, who must have written within 24 hours. */
export async function personInWindow(
  trx: Trx,
  businessId: string,
  ref: PersonRefInput,
  now: number,
): Promise<PersonRow> {
  const key = resolvePersonRef(ref, 'person.phone').key;
  const person = await findPerson(trx, businessId, key);
  if (person?.erased_at != null) fail('PERSON_ERASED', 'This person was erased.', 'person');
  if (!person || !windowOpen(person, now)) {
    fail(
      'WINDOW_CLOSED',
      'This person has not written to you in the last 24 hours, so WhatsApp allows only approved templates: use POST /v1/messages.',
      'person',
    );
  }
  return person!;
}

/** `POST /v1/replies`: a support reply, free-form text, inside the window only. */
export async function sendSupportReply(
  ctx: ServiceContext,
  businessId: string,
  input: { person: PersonRefInput; text: string },
): Promise<Message> {
  if (input.text.trim() === '') fail('VALIDATION_FAILED', 'The reply text is empty.', 'text');
  return ctx.database.transaction(async (trx) => {
    const now = ctx.clock.now();
    const person = await personInWindow(trx, businessId, input.person, now);
    return toMessage(
      await queueReplyTx(trx, { businessId, personId: person.id, purpose: 'support', text: input.text }, now),
    );
  });
}
