import { promptMessage } from '../../channels/whatsapp-cloud/messages.js';
import type { ChatPrompt } from '../../domain/messages.js';
import { dismissReplyId, optInReplyId } from '../../domain/chat/actions.js';
import { fail, refuseIf } from '../../domain/errors.js';
import { textRefusal, topicsRefusal } from '../../domain/consent/opt-in-rules.js';
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
    const textRow = await trx
      .selectFrom('consent_texts')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('hash', '=', input.textHash)
      .executeTakeFirst();
    const keys = parseJson<string[]>(textRow?.topic_keys ?? '[]', []);
    refuseIf(textRefusal(textRow && { usable: Number(textRow.usable) === 1, covers: () => true }, keys), 'textHash');
    const text = textRow!;
    // The topics the text covers: still live, of categories the business's policy allows.
    const topics = new Map((await getTopicsByKeys(trx, businessId, keys)).map((t) => [t.key, t]));
    refuseIf(
      topicsRefusal(keys, (k) => topics.get(k), business.policy.allowedCategories),
      'textHash',
    );

    const person = await personInWindow(trx, businessId, input.person, now);
    const to = person.phone_e164 ? { to: person.phone_e164 } : { recipient: person.bsuid ?? person.wa_id ?? '' };
    const yes = input.buttonLabels?.yes ?? 'Yes';
    const no = input.buttonLabels?.no ?? 'No thanks';
    const prompt: ChatPrompt = {
      style: input.style,
      body: text.body,
      options: [
        { id: optInReplyId(text.hash), title: yes },
        { id: dismissReplyId(), title: no },
      ],
      ...(input.style === 'list' ? { buttonText: input.buttonLabels?.list ?? 'Choose' } : {}),
    };
    try {
      promptMessage(to, prompt); // WhatsApp's limits, checked now rather than failing at send time
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
        extra: { prompt, textHash: text.hash },
      },
      now,
    );
    return toMessage(row);
  });
}
