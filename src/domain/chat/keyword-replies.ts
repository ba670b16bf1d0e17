/**
 * What Optline answers when a chat keyword acts: the opt-out and opt-in acknowledgements and the HELP reply,
 * in the languages of the keyword packs. Businesses may override any of them.
 *
 * Every reply names START and STOP, never a language's own word (ALTA, ARRÊT…): those two are core keywords
 * that no business can disable (domain/chat/keywords.ts), so "Reply START" is true whatever the settings.
 */
import type { KeywordKind } from './keywords.js';

export type KeywordReplyTexts = Readonly<Record<KeywordKind, string>>;
export type KeywordReplyOverrides = Partial<Record<string, Partial<Record<KeywordKind, string>>>>;

export const DEFAULT_KEYWORD_REPLIES: Readonly<Record<string, KeywordReplyTexts>> = Object.freeze({
  en: Object.freeze({
    opt_out: 'You will no longer receive WhatsApp messages from {business}. Reply START to subscribe again.',
    opt_in: 'You will receive WhatsApp messages from {business} again. Reply STOP at any time to unsubscribe.',
    help: 'This is {business} on WhatsApp. Reply STOP at any time to stop receiving messages, or START to receive them again.',
  }),
  es: Object.freeze({
    opt_out: 'Ya no recibirás mensajes de WhatsApp de {business}. Responde START para volver a suscribirte.',
    opt_in:
      'Volverás a recibir mensajes de WhatsApp de {business}. Responde STOP en cualquier momento para darte de baja.',
    help: 'Este es el WhatsApp de {business}. Responde STOP en cualquier momento para dejar de recibir mensajes, o START para volver a recibirlos.',
  }),
  pt: Object.freeze({
    opt_out: 'Você não receberá mais mensagens de WhatsApp de {business}. Responda START para se inscrever novamente.',
    opt_in:
      'Você voltará a receber mensagens de WhatsApp de {business}. Responda STOP a qualquer momento para cancelar.',
    help: 'Este é o WhatsApp de {business}. Responda STOP a qualquer momento para deixar de receber mensagens, ou START para voltar a recebê-las.',
  }),
  fr: Object.freeze({
    opt_out: 'Vous ne recevrez plus de messages WhatsApp de {business}. Répondez START pour vous réabonner.',
    opt_in:
      'Vous recevrez à nouveau les messages WhatsApp de {business}. Répondez STOP à tout moment pour vous désabonner.',
    help: 'Ceci est le WhatsApp de {business}. Répondez STOP à tout moment pour ne plus recevoir de messages, ou START pour les recevoir à nouveau.',
  }),
  de: Object.freeze({
    opt_out:
      'Sie erhalten keine WhatsApp-Nachrichten mehr von {business}. Antworten Sie mit START, um sie wieder zu erhalten.',
    opt_in:
      'Sie erhalten wieder WhatsApp-Nachrichten von {business}. Antworten Sie jederzeit mit STOP, um sich abzumelden.',
    help: 'Hier schreibt {business} auf WhatsApp. Antworten Sie jederzeit mit STOP, um keine Nachrichten mehr zu erhalten, oder mit START, um sie wieder zu erhalten.',
  }),
  it: Object.freeze({
    opt_out: 'Non riceverai più messaggi WhatsApp da {business}. Rispondi START per iscriverti di nuovo.',
    opt_in:
      "Riceverai di nuovo messaggi WhatsApp da {business}. Rispondi STOP in qualsiasi momento per annullare l'iscrizione.",
    help: 'Questo è il WhatsApp di {business}. Rispondi STOP in qualsiasi momento per non ricevere più messaggi, o START per riceverli di nuovo.',
  }),
  id: Object.freeze({
    opt_out: 'Anda tidak akan menerima pesan WhatsApp dari {business} lagi. Balas START untuk berlangganan kembali.',
    opt_in:
      'Anda akan kembali menerima pesan WhatsApp dari {business}. Balas STOP kapan saja untuk berhenti berlangganan.',
    help: 'Ini adalah WhatsApp {business}. Balas STOP kapan saja untuk berhenti menerima pesan, atau START untuk menerimanya kembali.',
  }),
  hi: Object.freeze({
    opt_out: 'अब आपको {business} से WhatsApp संदेश नहीं मिलेंगे। फिर से सदस्यता लेने के लिए START लिखकर भेजें।',
    opt_in: 'आपको {business} से फिर से WhatsApp संदेश मिलेंगे। सदस्यता छोड़ने के लिए कभी भी STOP लिखकर भेजें।',
    help: 'यह WhatsApp पर {business} है। संदेश बंद करने के लिए कभी भी STOP लिखकर भेजें, या फिर से पाने के लिए START लिखकर भेजें।',
  }),
});

/** The text for a language: its own, else its base language's ("pt-BR" → "pt"), else undefined. */
function pick(
  language: string,
  kind: KeywordKind,
  table: KeywordReplyOverrides | Readonly<Record<string, KeywordReplyTexts>>,
): string | undefined {
  const base = language.toLowerCase().split(/[-_]/)[0] ?? '';
  return table[language]?.[kind] ?? table[base]?.[kind];
}

/**
 * The reply for a keyword: the business's override for the language, else the default for the language,
 * else English (the business's English override first). Only `{business}` is substituted; the result is
 * plain chat text, so nothing is escaped.
 */
export function renderKeywordReply(
  kind: KeywordKind,
  language: string,
  vars: { business: string },
  overrides?: KeywordReplyOverrides,
): string {
  const template =
    pick(language, kind, overrides ?? {}) ??
    pick(language, kind, DEFAULT_KEYWORD_REPLIES) ??
    overrides?.en?.[kind] ??
    DEFAULT_KEYWORD_REPLIES.en![kind];
  // A function replacement, so a name like "A$&B" is inserted as written ($ patterns are not interpreted).
  return template.replaceAll('{business}', () => vars.business);
}

/**
 * The answer to a keyword or intent phrase inside a sentence ("don't stop my order", "please stop texting me"):
 * nothing is decided, but the person is told the one word that does stop everything. STOP, like the replies
 * above, because it works whatever the business's settings.
 */
export const DEFAULT_STOP_HINTS: Readonly<Record<string, string>> = Object.freeze({
  en: 'Do you want to stop messages from {business}? Reply STOP to stop all messages.',
  es: '¿Quieres dejar de recibir mensajes de {business}? Responde STOP para dejar de recibir todos los mensajes.',
  pt: 'Quer parar de receber mensagens de {business}? Responda STOP para parar todas as mensagens.',
  fr: 'Vous ne voulez plus de messages de {business} ? Répondez STOP pour arrêter tous les messages.',
  de: 'Möchten Sie keine Nachrichten mehr von {business}? Antworten Sie mit STOP, um alle Nachrichten zu beenden.',
  it: 'Vuoi smettere di ricevere messaggi da {business}? Rispondi STOP per interrompere tutti i messaggi.',
  id: 'Ingin berhenti menerima pesan dari {business}? Balas STOP untuk menghentikan semua pesan.',
  hi: 'क्या आप {business} से संदेश बंद करना चाहते हैं? सभी संदेश बंद करने के लिए STOP लिखकर भेजें।',
});

export function renderStopHint(language: string, vars: { business: string }): string {
  const base = language.toLowerCase().split(/[-_]/)[0] ?? '';
  const template = DEFAULT_STOP_HINTS[language] ?? DEFAULT_STOP_HINTS[base] ?? DEFAULT_STOP_HINTS.en!;
  return template.replaceAll('{business}', () => vars.business);
}
