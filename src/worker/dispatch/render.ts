/**
 * Builds the Cloud API body of a claimed message. Pure. Every body carries our message id as
 * biz_opaque_callback_data, so a status webhook can be matched to its message even when we never learnt the
 * wamid (a worker that died between Meta's 200 and our write).
 */
import {
  buttonsMessage,
  promptMessage,
  templateMessage,
  textMessage,
  type Addressee,
  type CloudMessageBody,
} from '../../channels/whatsapp-cloud/messages.js';
import { confirmationTexts, fill, listOf, withLink } from '../../domain/chat/confirmation-texts.js';
// The double opt-in buttons carry the ids the chat ingest parses (domain/chat/actions.ts owns both).
import { confirmReplyId, notMeReplyId } from '../../domain/chat/actions.js';
import type { DispatchItem } from './types.js';
import type { ConfirmationPayload, NotificationPayload, ReplyPayload } from '../../domain/messages.js';

export type Rendered = { ok: true; body: CloudMessageBody } | { ok: false; errorCode: string; detail: string };

/** Phone when we have one (Meta lets `to` win anyway), else the wa_id's digits, else the BSUID. */
export function addressOf(r: DispatchItem['recipient']): Addressee | null {
  if (r.phone) return { to: r.phone };
  if (r.waId) return { to: r.waId };
  if (r.bsuid) return { recipient: r.bsuid };
  return null;
}

export function render(item: DispatchItem): Rendered {
  const to = addressOf(item.recipient);
  if (!to)
    return {
      ok: false,
      errorCode: 'NO_RECIPIENT',
      detail: 'The person has no phone number, wa_id or BSUID to send to.',
    };
  try {
    const body =
      item.kind === 'notification'
        ? notification(item.payload, to)
        : item.kind === 'confirmation'
          ? confirmation(item, item.payload, to)
          : reply(item.payload, to);
    if (isRefusal(body)) return body;
    body.biz_opaque_callback_data = item.id;
    return { ok: true, body };
  } catch (e) {
    // A builder refused the content (empty parameter, title too long…): no retry can fix it.
    return { ok: false, errorCode: 'RENDER_FAILED', detail: (e as Error).message.slice(0, 500) };
  }
}

type Refusal = Extract<Rendered, { ok: false }>;
type Out = CloudMessageBody | Refusal;
const isRefusal = (o: Out): o is Refusal => (o as { ok?: unknown }).ok === false;

function notification(payload: NotificationPayload, to: Addressee): Out {
  const t = payload.template;
  if (!t) return { ok: false, errorCode: 'RENDER_FAILED', detail: 'The notification has no template.' };
  return templateMessage({
    ...to,
    name: t.name,
    language: t.language,
    bodyParams: t.bodyParams,
    quickReplyPayloads: t.buttonPayloads,
  });
}

function confirmation(item: DispatchItem, payload: ConfirmationPayload, to: Addressee): Out {
  const double = payload.doubleOptIn === true;
  const eventId = item.relatedEventId ?? '';
  // Minted when the confirmation was queued (services/consent/confirmation-link.ts).
  const link = payload.preferenceLink;
  if (!item.windowOpen) {
    // Free-form text is refused outside the window (131047): only an approved template may start the talk.
    const tpl = item.business.confirmationTemplate;
    if (!tpl) {
      return {
        ok: false,
        errorCode: 'NEEDS_TEMPLATE',
        detail:
          "The person's 24-hour window is closed and the business has no confirmation template (policy.confirmationTemplate).",
      };
    }
    const lang = tpl.language.replace('_', '-');
    const bodyParams = [item.business.displayName, listOf(item.topicNames, lang)];
    // The preference link goes in the parameter the business named (its template has that many parameters).
    if (link?.templateParam) {
      while (bodyParams.length < link.templateParam - 1) bodyParams.push('-');
      bodyParams[link.templateParam - 1] = link.url;
    }
    return templateMessage({
      ...to,
      name: tpl.name,
      language: tpl.language,
      bodyParams,
      quickReplyPayloads: double ? [confirmReplyId(eventId), notMeReplyId(eventId)] : undefined,
    });
  }
  const { language, texts } = confirmationTexts(payload.language);
  const vars = { business: item.business.displayName, topics: listOf(item.topicNames, language) };
  if (!double) return textMessage({ ...to, body: withLink(fill(texts.subscribed, vars), texts, link?.url ?? null) });
  return buttonsMessage({
    ...to,
    body: withLink(fill(texts.askConfirm, vars), texts, link?.url ?? null),
    buttons: [
      { id: confirmReplyId(eventId), title: texts.confirmButton },
      { id: notMeReplyId(eventId), title: texts.notMeButton },
    ],
  });
}

function reply(payload: ReplyPayload, to: Addressee): Out {
  // `text` is always there; a prompt (an opt-in question) is sent as buttons or a list instead.
  if (payload.prompt) return promptMessage(to, payload.prompt);
  const interactive = payload.interactive; // rows queued by earlier versions
  if (interactive && typeof interactive === 'object' && !Array.isArray(interactive)) {
    return { messaging_product: 'whatsapp', recipient_type: 'individual', ...to, type: 'interactive', interactive };
  }
  if (typeof payload.text === 'string') return textMessage({ ...to, body: payload.text });
  return { ok: false, errorCode: 'RENDER_FAILED', detail: 'A reply needs payload.text or payload.prompt.' };
}
