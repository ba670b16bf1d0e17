/**
 * Words Optline itself says on the capture channels (SMS, phone, email), in the languages of the hosted pages.
 * The consent text proper is always the business's registered text; these only wrap it and acknowledge.
 * Placeholders are {name}, filled by fill(); SMS and speech are plain text and need no escaping.
 */
export type CaptureLanguage = 'en' | 'es' | 'pt';

const en = {
  smsKeywordInstruction: 'Reply YES WA to agree.',
  smsLinkInstruction: 'Choose here: {link}',
  smsOptedIn:
    'Thanks! {business} will send you {topics} on WhatsApp. A confirmation is on its way there. Reply STOP to opt out.',
  smsOptedOut: 'You will no longer receive WhatsApp messages from {business}. Nothing more will be sent.',
  smsNoInvitation: 'There is no open invitation from {business} for this number, so nothing was changed.',
  smsHelp: '{business}: reply YES WA to an invitation to get WhatsApp messages, or STOP to stop them.',
  smsMentionStop: 'To stop WhatsApp messages from {business}, reply STOP.',
  ivrPrompt:
    'Hello, this is {business}. Would you like to receive {topics} from {business} on WhatsApp? Press 1 to opt in. Press 9 to opt out of all WhatsApp messages from {business}.',
  ivrRetry: 'Sorry, that is not one of the choices.',
  ivrGoodbye: 'We did not receive a choice, so nothing was changed. Goodbye.',
  ivrOptedIn:
    'Thank you. You will receive {topics} from {business} on WhatsApp. A confirmation is on its way there. Goodbye.',
  ivrPending: 'Thank you. Please confirm in the WhatsApp message we are sending you now. Goodbye.',
  ivrOptedOut: 'You will no longer receive WhatsApp messages from {business}. Goodbye.',
  ivrUnavailable: 'Sorry, sign-up by phone is not available right now. Goodbye.',
  emailSubject: '{business}: get {topics} on WhatsApp',
  emailIntro: '{business} invites you to get {topics} on WhatsApp.',
  emailCta: 'Choose on this page (the link works once, until {date}):',
  emailButton: 'Choose my WhatsApp messages',
  emailNothingUnless: 'Nothing is sent to you on WhatsApp unless you agree on that page.',
  emailUnsubscribe: 'Do not want these emails? Unsubscribe:',
};

export type CaptureStrings = { readonly [K in keyof typeof en]: string };

const es: CaptureStrings = {
  smsKeywordInstruction: 'Responde YES WA para aceptar.',
  smsLinkInstruction: 'Elige aquí: {link}',
  smsOptedIn:
    '¡Gracias! {business} te enviará {topics} por WhatsApp. Te llegará allí una confirmación. Responde STOP para darte de baja.',
  smsOptedOut: 'Ya no recibirás mensajes de WhatsApp de {business}. No se te enviará nada más.',
  smsNoInvitation: 'No hay ninguna invitación abierta de {business} para este número, así que no se ha cambiado nada.',
  smsHelp:
    '{business}: responde YES WA a una invitación para recibir mensajes de WhatsApp, o STOP para dejar de recibirlos.',
  smsMentionStop: 'Para dejar de recibir mensajes de WhatsApp de {business}, responde STOP.',
  ivrPrompt:
    'Hola, le llama {business}. ¿Quiere recibir {topics} de {business} por WhatsApp? Pulse 1 para aceptar. Pulse 9 para darse de baja de todos los mensajes de WhatsApp de {business}.',
  ivrRetry: 'Lo sentimos, esa no es una de las opciones.',
  ivrGoodbye: 'No hemos recibido ninguna opción, así que no se ha cambiado nada. Adiós.',
  ivrOptedIn: 'Gracias. Recibirá {topics} de {business} por WhatsApp. Le llegará allí una confirmación. Adiós.',
  ivrPending: 'Gracias. Confirme en el mensaje de WhatsApp que le enviamos ahora. Adiós.',
  ivrOptedOut: 'Ya no recibirá mensajes de WhatsApp de {business}. Adiós.',
  ivrUnavailable: 'Lo sentimos, ahora no es posible darse de alta por teléfono. Adiós.',
  emailSubject: '{business}: recibe {topics} por WhatsApp',
  emailIntro: '{business} te invita a recibir {topics} por WhatsApp.',
  emailCta: 'Elige en esta página (el enlace funciona una vez, hasta el {date}):',
  emailButton: 'Elegir mis mensajes de WhatsApp',
  emailNothingUnless: 'No se te envía nada por WhatsApp salvo que lo aceptes en esa página.',
  emailUnsubscribe: '¿No quieres estos correos? Date de baja:',
};

const pt: CaptureStrings = {
  smsKeywordInstruction: 'Responda YES WA para aceitar.',
  smsLinkInstruction: 'Escolha aqui: {link}',
  smsOptedIn:
    'Obrigado! {business} vai enviar {topics} para você no WhatsApp. Uma confirmação está a caminho por lá. Responda STOP para sair.',
  smsOptedOut: 'Você não vai mais receber mensagens de WhatsApp de {business}. Nada mais será enviado.',
  smsNoInvitation: 'Não há convite aberto de {business} para este número, então nada foi alterado.',
  smsHelp: '{business}: responda YES WA a um convite para receber mensagens de WhatsApp, ou STOP para parar.',
  smsMentionStop: 'Para parar as mensagens de WhatsApp de {business}, responda STOP.',
  ivrPrompt:
    'Olá, aqui é {business}. Você quer receber {topics} de {business} pelo WhatsApp? Digite 1 para aceitar. Digite 9 para sair de todas as mensagens de WhatsApp de {business}.',
  ivrRetry: 'Desculpe, essa não é uma das opções.',
  ivrGoodbye: 'Não recebemos nenhuma opção, então nada foi alterado. Até logo.',
  ivrOptedIn:
    'Obrigado. Você vai receber {topics} de {business} pelo WhatsApp. Uma confirmação está a caminho por lá. Até logo.',
  ivrPending: 'Obrigado. Confirme na mensagem de WhatsApp que estamos enviando agora. Até logo.',
  ivrOptedOut: 'Você não vai mais receber mensagens de WhatsApp de {business}. Até logo.',
  ivrUnavailable: 'Desculpe, a inscrição por telefone não está disponível agora. Até logo.',
  emailSubject: '{business}: receba {topics} no WhatsApp',
  emailIntro: '{business} convida você a receber {topics} no WhatsApp.',
  emailCta: 'Escolha nesta página (o link funciona uma vez, até {date}):',
  emailButton: 'Escolher minhas mensagens de WhatsApp',
  emailNothingUnless: 'Nada é enviado a você pelo WhatsApp a menos que você aceite nessa página.',
  emailUnsubscribe: 'Não quer estes e-mails? Cancele a inscrição:',
};

const TABLE: Record<CaptureLanguage, CaptureStrings> = { en, es, pt };

export function captureLanguage(lang: string | null | undefined): CaptureLanguage {
  const base = (lang ?? '').toLowerCase().split(/[-_]/)[0];
  return base === 'es' || base === 'pt' ? base : 'en';
}

/** Twilio <Say> language for each. */
export const VOICE_LANGUAGE: Record<CaptureLanguage, string> = { en: 'en-US', es: 'es-ES', pt: 'pt-BR' };

export function captureText(
  lang: CaptureLanguage,
  key: keyof CaptureStrings,
  vars: Record<string, string> = {},
): string {
  return TABLE[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (Object.hasOwn(vars, name) ? vars[name]! : m));
}

/** "delivery updates and billing alerts", in the language's own way of listing. */
export function listNames(lang: CaptureLanguage, names: string[]): string {
  return new Intl.ListFormat(lang, { style: 'long', type: 'conjunction' }).format(names);
}
