/**
 * The opt-in confirmation sent inside the customer-service window (free to send there): it names the business, the
 * message types, WhatsApp, and how to opt out. Outside the window the business's approved template is sent
 * instead (render.ts). "STOP" is named in every language because it is a core keyword nobody can disable.
 */
export interface ConfirmationTexts {
  /** Single opt-in: the subscription is in force. */
  subscribed: string;
  /** Double opt-in: the person is asked to confirm. */
  askConfirm: string;
  confirmButton: string; // at most 20 characters (Meta's limit for reply button titles)
  notMeButton: string;
  /** The line before the preference link, when the business puts one in the confirmation. */
  manage: string;
}

export const CONFIRMATION_TEXTS: Readonly<Record<string, ConfirmationTexts>> = Object.freeze({
  en: {
    subscribed: '{business}: you are subscribed to {topics} on WhatsApp. Reply STOP to unsubscribe at any time.',
    askConfirm:
      '{business} would like to send you {topics} on WhatsApp. Tap Confirm to agree, or Not me if you did not ask for this. Reply STOP to unsubscribe at any time.',
    confirmButton: 'Confirm',
    notMeButton: 'Not me',
    manage: 'Choose your messages or stop them here:',
  },
  es: {
    subscribed:
      '{business}: te has suscrito a {topics} por WhatsApp. Responde STOP para darte de baja en cualquier momento.',
    askConfirm:
      '{business} quiere enviarte {topics} por WhatsApp. Toca Confirmar para aceptar, o No fui yo si no lo pediste. Responde STOP para darte de baja en cualquier momento.',
    confirmButton: 'Confirmar',
    notMeButton: 'No fui yo',
    manage: 'Elige tus mensajes o detenlos aquí:',
  },
  pt: {
    subscribed:
      '{business}: você se inscreveu para receber {topics} pelo WhatsApp. Responda STOP para cancelar a qualquer momento.',
    askConfirm:
      '{business} quer enviar {topics} para você pelo WhatsApp. Toque em Confirmar para aceitar, ou Não fui eu se você não pediu isso. Responda STOP para cancelar a qualquer momento.',
    confirmButton: 'Confirmar',
    notMeButton: 'Não fui eu',
    manage: 'Escolha suas mensagens ou cancele aqui:',
  },
  fr: {
    subscribed:
      '{business} : vous êtes abonné(e) à {topics} sur WhatsApp. Répondez STOP pour vous désabonner à tout moment.',
    askConfirm:
      "{business} souhaite vous envoyer {topics} sur WhatsApp. Appuyez sur Confirmer pour accepter, ou Pas moi si vous ne l'avez pas demandé. Répondez STOP pour vous désabonner à tout moment.",
    confirmButton: 'Confirmer',
    notMeButton: 'Pas moi',
    manage: 'Choisissez vos messages ou arrêtez-les ici :',
  },
});

/** The language's texts: its own, else its base language's ("pt-BR" → "pt"), else English. */
export function confirmationTexts(language: string | null | undefined): { language: string; texts: ConfirmationTexts } {
  const lang = (language ?? 'en').toLowerCase().replace('_', '-');
  const base = lang.split('-')[0] ?? 'en';
  if (CONFIRMATION_TEXTS[lang]) return { language: lang, texts: CONFIRMATION_TEXTS[lang]! };
  if (CONFIRMATION_TEXTS[base]) return { language: base, texts: CONFIRMATION_TEXTS[base]! };
  return { language: 'en', texts: CONFIRMATION_TEXTS.en! };
}

/** "a, b and c" in the language ("a, b y c", "a, b e c"). */
export function listOf(items: string[], language: string): string {
  try {
    return new Intl.ListFormat(language, { type: 'conjunction', style: 'long' }).format(items);
  } catch {
    return new Intl.ListFormat('en', { type: 'conjunction', style: 'long' }).format(items);
  }
}

export function fill(template: string, vars: { business: string; topics: string }): string {
  return template.replaceAll('{business}', vars.business).replaceAll('{topics}', vars.topics);
}

/** A confirmation body with the preference link as its last line, when there is one. */
export function withLink(body: string, texts: ConfirmationTexts, url: string | null): string {
  return url ? `${body}\n\n${texts.manage} ${url}` : body;
}
