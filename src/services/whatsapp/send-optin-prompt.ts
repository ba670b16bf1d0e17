import { buttonsMessage, listMessage } from '../../channels/whatsapp-cloud/messages.js';
import { dismissReplyId, optInReplyId } from '../../domain/chat/actions.js';
import { fail } from '../../domain/errors.js';
import { getBusiness, getTopicsByKeys } from '../../storage/business/business-store.js';
import { parseJson } from '../../storage/json.js';
import { toMessage, type Message } from '../../storage/dispatch/outbox-store.js';
import type { ServiceContext } from '../context.js';
import type { PersonRefInput } from '../consent/person-ref.js';
import { personInWindow, queueReplyTx } from '../dispatch/queue-reply.js';

export interface OptInPromptInput {
  person: PersonRefInput;
  textHash: string;
  style: 'buttons' | 'list';
  buttonLabels?: { yes?: string; no?: string; list?: string };
}

/**
 * Asks for consent inside the chat: the opt-in text as the message body, with "Yes" (optline:optin:<hash>,
 * which records the opt-in with the tap as its active action) and "No thanks" (optline:dismiss, which
 * records nothing). Only inside the service window, and only with a text that an opt-in could use.
 */
export async function sendOptInPrompt(
  ctx: ServiceContext,
  businessId: string,
  input: OptInPromptInput,
): Promise<Message> {
  return ctx.database.transaction(async (trx) => {
    const now = ctx.clock.now();
    const business = await getBusiness(trx, businessId);
    if (!business) return fail('NOT_FOUND', 'No such business.', 'businessId');
    const text = await trx
      .selectFrom('consent_texts')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('hash', '=', input.textHash)
      .executeTakeFirst();
    if (!text)
      return fail('UNKNOWN_TEXT', 'No opt-in text with this hash is registered for this business.', 'textHash');
    if (Number(text.usable) !== 1)
      fail(
        'TEXT_CHECK_FAILED',
        'This opt-in text failed its policy checks and cannot be used; see its check results.',
        'textHash',
      );
    const topics = await getTopicsByKeys(trx, businessId, parseJson<string[]>(text.topic_keys, []));
    const archived = topics.filter((t) => t.archivedAt !== null);
    if (archived.length)
      fail(
        'TOPIC_ARCHIVED',
        `The text covers archived topic(s): ${archived.map((t) => t.key).join(', ')}.`,
        'textHash',
      );
    const refused = topics.filter((t) => !business.policy.allowedCategories.includes(t.category));
    if (refused.length)
      fail(
        'CATEGORY_NOT_ALLOWED',
        `${refused.map((t) => `${t.key} (${t.category})`).join(', ')}: the business's policy does not allow this category.`,
        'textHash',
      );

    const person = await personInWindow(trx, businessId, input.person, now);
    const to = person.phone_e164 ? { to: person.phone_e164 } : { recipient: person.bsuid ?? person.wa_id ?? '' };
    const yes = input.buttonLabels?.yes ?? 'Yes';
    const no = input.buttonLabels?.no ?? 'No thanks';
    let body;
    try {
      body =
        input.style === 'buttons'
          ? buttonsMessage({
              ...to,
              body: text.body,
              buttons: [
                { id: optInReplyId(text.hash), title: yes },
                { id: dismissReplyId(), title: no },
              ],
            })
          : listMessage({
              ...to,
              body: text.body,
              buttonText: input.buttonLabels?.list ?? 'Choose',
              sections: [
                {
                  title: '',
                  rows: [
                    { id: optInReplyId(text.hash), title: yes },
                    { id: dismissReplyId(), title: no },
                  ],
                },
              ],
            });
    } catch (e) {
      // WhatsApp's limits (a button body of at most 1024 characters, labels of at most 20, distinct labels).
      return fail(
        'VALIDATION_FAILED',
        `WhatsApp cannot show this prompt: ${(e as Error).message}.`,
        input.style === 'buttons' && text.body.length > 1024 ? 'textHash' : 'buttonLabels',
      );
    }
    const row = await queueReplyTx(
      trx,
      {
        businessId,
        personId: person.id,
        purpose: 'optin_prompt',
        text: text.body,
        extra: { interactive: body.interactive, textHash: text.hash, style: input.style },
      },
      now,
    );
    return toMessage(row);
  });
}
