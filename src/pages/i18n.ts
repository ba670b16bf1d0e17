/**
 * Page chrome of the hosted pages in the languages they ship in. The consent text itself is never here: it is
 * the business's registered text, shown word for word. Placeholders are {name}; values are escaped by the
 * template engine, not here.
 */
export const PAGE_LANGUAGES = ['en', 'es', 'pt'] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

const en = {
  languageName: 'English',
  skipToForm: 'Skip to the form',
  optInTitle: 'Get {business} messages on WhatsApp',
  optInIntro: 'Choose what {business} may send you on WhatsApp. Nothing is sent until you agree.',
  consentHeading: 'What you agree to',
  topicsLegend: 'Messages you want',
  topicsHint: 'Tick at least one.',
  countryLabel: 'Country',
  phoneLabel: 'Your WhatsApp number',
  phoneHint: 'The number you use on WhatsApp, for example {example}.',
  submit: 'Agree and continue',
  privacyNote:
    'We keep a record of your choice (the time, your IP address, your browser and the text above) as proof of your consent. You can stop at any time.',
  errorSummaryTitle: 'There is a problem',
  errNoTopic: 'Tick at least one type of message. Nothing was recorded.',
  errPhoneMissing: 'Enter your WhatsApp number.',
  errPhoneInvalid: 'Enter a valid phone number for the country you chose, for example {example}.',
  errFormExpired:
    'This form was open too long or was not sent from this page. Please check your choices and send it again.',
  ownershipTitle: 'One last step: confirm on WhatsApp',
  ownershipBody:
    'To make sure {phone} is your number, send us the prepared message from WhatsApp on that phone. Your sign-up is complete when we receive it.',
  ownershipButton: 'Open WhatsApp and send the message',
  ownershipManual: 'No WhatsApp on this device? Send this message to {number} from WhatsApp on your phone:',
  ownershipExpiry: 'The code works for 24 hours.',
  ownershipPrefill: 'Yes, I want WhatsApp messages from {business}. My code: {code}',
  doneTitle: 'You are subscribed',
  doneBody: '{business} will send you these messages on WhatsApp: {topics}. A confirmation is on its way there.',
  donePending: 'Please confirm in the WhatsApp message we just sent you. Until you do, you will get nothing else.',
  doneStop: 'You can stop at any time: reply STOP in the WhatsApp chat.',
  notFoundTitle: 'This page is not available',
  notFoundBody: 'There is no sign-up page at this address. Please check the link you followed.',
  noTextTitle: 'Sign-up is not available',
  noTextBody: '{business} has not published a sign-up text for these messages yet. Nothing was recorded.',
  unavailableTitle: 'Sign-up is paused',
  unavailableBody:
    '{business} has not finished setting up its WhatsApp number, so sign-up cannot be completed right now. Nothing was recorded.',
  linkExpiredTitle: 'This link has expired',
  linkExpiredBody: 'This link was already used or is too old. Please ask {business} for a new one.',
  linkExpiredBodyGeneric: 'This link was already used or is too old. Please ask for a new one.',
  linkInvalidTitle: 'This link is not valid',
  linkInvalidBody:
    'The link is damaged or incomplete. Copy the whole link from the message you received, or ask for a new one.',
  rateLimitedTitle: 'Too many attempts',
  rateLimitedBody: 'Please wait a few minutes and try again.',
  forbiddenTitle: 'This form cannot be sent from here',
  forbiddenBody: 'Please open the sign-up page itself and send the form from there.',
  refusedTitle: 'This could not be completed',
  refusedBody: 'Nothing was recorded. Please start again from the page you came from.',
  errorTitle: 'Something went wrong',
  errorBody: 'Something went wrong on our side and nothing was changed. Please try again later.',
  prefsTitle: 'Your WhatsApp messages from {business}',
  prefsIntro: 'Choose the messages you want. Changes take effect at once.',
  prefsLegend: 'Messages',
  prefsOn: 'On',
  prefsOff: 'Off',
  prefsPending: 'Waiting for your confirmation on WhatsApp',
  prefsConsentNote: 'Turning a type of message on means you agree to:',
  prefsCannotTurnOn: 'Can be turned off here, but not on.',
  prefsSave: 'Save my choices',
  prefsStopAll: 'Stop all WhatsApp messages from {business}',
  prefsStopAllHint: 'One click, no questions asked.',
  prefsSaved: 'Your choices are saved.',
  prefsNothingChanged: 'Nothing changed.',
  prefsStopped: 'You will no longer get WhatsApp messages from {business}.',
  prefsErased: 'There is nothing to manage here any more: your data was erased at your request.',
  prefsTimezone: 'Your time zone',
  prefsTimezoneHint: 'Messages wait for daytime where you are.',
  prefsTimezoneAuto: 'Automatic, from your number ({zone})',
  prefsTimezoneAutoNone: "Automatic (the business's time zone)",
  unsubTitle: 'Unsubscribe',
  unsubQuestion: 'Stop invitation emails and WhatsApp messages from {business}?',
  unsubButton: 'Unsubscribe',
  unsubDone: 'You are unsubscribed. {business} will not send you more invitation emails.',
  unsubDoneWhatsApp: 'WhatsApp messages from {business} to you are stopped too.',
  languageLabel: 'Language',
} as const;

export type PageStrings = { readonly [K in keyof typeof en]: string };

const es: PageStrings = {
  languageName: 'Español',
  skipToForm: 'Ir al formulario',
  optInTitle: 'Recibe mensajes de {business} por WhatsApp',
  optInIntro: 'Elige qué puede enviarte {business} por WhatsApp. No se envía nada hasta que aceptes.',
  consentHeading: 'Lo que aceptas',
  topicsLegend: 'Mensajes que quieres',
  topicsHint: 'Marca al menos uno.',
  countryLabel: 'País',
  phoneLabel: 'Tu número de WhatsApp',
  phoneHint: 'El número que usas en WhatsApp, por ejemplo {example}.',
  submit: 'Aceptar y continuar',
  privacyNote:
    'Guardamos un registro de tu elección (la hora, tu dirección IP, tu navegador y el texto de arriba) como prueba de tu consentimiento. Puedes darte de baja cuando quieras.',
  errorSummaryTitle: 'Hay un problema',
  errNoTopic: 'Marca al menos un tipo de mensaje. No se ha registrado nada.',
  errPhoneMissing: 'Escribe tu número de WhatsApp.',
  errPhoneInvalid: 'Escribe un número válido para el país elegido, por ejemplo {example}.',
  errFormExpired:
    'El formulario estuvo abierto demasiado tiempo o no se envió desde esta página. Revisa tus opciones y envíalo de nuevo.',
  ownershipTitle: 'Último paso: confirma en WhatsApp',
  ownershipBody:
    'Para comprobar que {phone} es tu número, envíanos el mensaje preparado desde WhatsApp en ese teléfono. Tu alta se completa cuando lo recibamos.',
  ownershipButton: 'Abrir WhatsApp y enviar el mensaje',
  ownershipManual:
    '¿No tienes WhatsApp en este dispositivo? Envía este mensaje a {number} desde WhatsApp en tu teléfono:',
  ownershipExpiry: 'El código vale durante 24 horas.',
  ownershipPrefill: 'Sí, quiero recibir mensajes de WhatsApp de {business}. Mi código: {code}',
  doneTitle: 'Te has suscrito',
  doneBody: '{business} te enviará estos mensajes por WhatsApp: {topics}. Te llegará allí una confirmación.',
  donePending: 'Confirma en el mensaje de WhatsApp que te acabamos de enviar. Hasta entonces no recibirás nada más.',
  doneStop: 'Puedes darte de baja cuando quieras: responde STOP en el chat de WhatsApp.',
  notFoundTitle: 'Esta página no está disponible',
  notFoundBody: 'No hay ninguna página de alta en esta dirección. Comprueba el enlace que has seguido.',
  noTextTitle: 'El alta no está disponible',
  noTextBody: '{business} aún no ha publicado un texto de alta para estos mensajes. No se ha registrado nada.',
  unavailableTitle: 'El alta está en pausa',
  unavailableBody:
    '{business} no ha terminado de configurar su número de WhatsApp, así que ahora no se puede completar el alta. No se ha registrado nada.',
  linkExpiredTitle: 'Este enlace ha caducado',
  linkExpiredBody: 'Este enlace ya se usó o es demasiado antiguo. Pide uno nuevo a {business}.',
  linkExpiredBodyGeneric: 'Este enlace ya se usó o es demasiado antiguo. Pide uno nuevo.',
  linkInvalidTitle: 'Este enlace no es válido',
  linkInvalidBody:
    'El enlace está dañado o incompleto. Copia el enlace completo del mensaje que recibiste o pide uno nuevo.',
  rateLimitedTitle: 'Demasiados intentos',
  rateLimitedBody: 'Espera unos minutos y vuelve a intentarlo.',
  forbiddenTitle: 'Este formulario no se puede enviar desde aquí',
  forbiddenBody: 'Abre la propia página de alta y envía el formulario desde allí.',
  refusedTitle: 'No se ha podido completar',
  refusedBody: 'No se ha registrado nada. Vuelve a empezar desde la página de la que venías.',
  errorTitle: 'Algo ha fallado',
  errorBody: 'Algo ha fallado por nuestra parte y no se ha cambiado nada. Inténtalo de nuevo más tarde.',
  prefsTitle: 'Tus mensajes de WhatsApp de {business}',
  prefsIntro: 'Elige los mensajes que quieres. Los cambios se aplican al momento.',
  prefsLegend: 'Mensajes',
  prefsOn: 'Activado',
  prefsOff: 'Desactivado',
  prefsPending: 'Pendiente de tu confirmación en WhatsApp',
  prefsConsentNote: 'Activar un tipo de mensaje significa que aceptas:',
  prefsCannotTurnOn: 'Aquí se puede desactivar, pero no activar.',
  prefsSave: 'Guardar mis opciones',
  prefsStopAll: 'Dejar de recibir todos los mensajes de WhatsApp de {business}',
  prefsStopAllHint: 'Un clic, sin preguntas.',
  prefsSaved: 'Tus opciones se han guardado.',
  prefsNothingChanged: 'No ha cambiado nada.',
  prefsStopped: 'Ya no recibirás mensajes de WhatsApp de {business}.',
  prefsErased: 'Aquí ya no hay nada que gestionar: tus datos se borraron a petición tuya.',
  prefsTimezone: 'Tu zona horaria',
  prefsTimezoneHint: 'Los mensajes esperan a que sea de día donde estás.',
  prefsTimezoneAuto: 'Automática, según tu número ({zone})',
  prefsTimezoneAutoNone: 'Automática (la zona horaria de la empresa)',
  unsubTitle: 'Darse de baja',
  unsubQuestion: '¿Dejar de recibir correos de invitación y mensajes de WhatsApp de {business}?',
  unsubButton: 'Darme de baja',
  unsubDone: 'Te has dado de baja. {business} no te enviará más correos de invitación.',
  unsubDoneWhatsApp: 'Los mensajes de WhatsApp de {business} también se han detenido.',
  languageLabel: 'Idioma',
};

const pt: PageStrings = {
  languageName: 'Português',
  skipToForm: 'Ir para o formulário',
  optInTitle: 'Receba mensagens de {business} no WhatsApp',
  optInIntro: 'Escolha o que {business} pode enviar para você no WhatsApp. Nada é enviado até você concordar.',
  consentHeading: 'O que você aceita',
  topicsLegend: 'Mensagens que você quer',
  topicsHint: 'Marque pelo menos uma.',
  countryLabel: 'País',
  phoneLabel: 'Seu número de WhatsApp',
  phoneHint: 'O número que você usa no WhatsApp, por exemplo {example}.',
  submit: 'Aceitar e continuar',
  privacyNote:
    'Guardamos um registro da sua escolha (a hora, seu endereço IP, seu navegador e o texto acima) como prova do seu consentimento. Você pode sair quando quiser.',
  errorSummaryTitle: 'Há um problema',
  errNoTopic: 'Marque pelo menos um tipo de mensagem. Nada foi registrado.',
  errPhoneMissing: 'Digite seu número de WhatsApp.',
  errPhoneInvalid: 'Digite um número válido para o país escolhido, por exemplo {example}.',
  errFormExpired:
    'O formulário ficou aberto tempo demais ou não foi enviado desta página. Confira suas escolhas e envie de novo.',
  ownershipTitle: 'Último passo: confirme no WhatsApp',
  ownershipBody:
    'Para confirmar que {phone} é o seu número, envie a mensagem preparada pelo WhatsApp desse telefone. Sua inscrição termina quando a recebermos.',
  ownershipButton: 'Abrir o WhatsApp e enviar a mensagem',
  ownershipManual: 'Não tem WhatsApp neste aparelho? Envie esta mensagem para {number} pelo WhatsApp do seu telefone:',
  ownershipExpiry: 'O código vale por 24 horas.',
  ownershipPrefill: 'Sim, quero receber mensagens de WhatsApp de {business}. Meu código: {code}',
  doneTitle: 'Inscrição feita',
  doneBody:
    '{business} vai enviar estas mensagens para você no WhatsApp: {topics}. Uma confirmação está a caminho por lá.',
  donePending: 'Confirme na mensagem de WhatsApp que acabamos de enviar. Até lá você não recebe mais nada.',
  doneStop: 'Você pode sair quando quiser: responda STOP na conversa do WhatsApp.',
  notFoundTitle: 'Esta página não está disponível',
  notFoundBody: 'Não há página de inscrição neste endereço. Confira o link que você seguiu.',
  noTextTitle: 'Inscrição indisponível',
  noTextBody: '{business} ainda não publicou um texto de inscrição para estas mensagens. Nada foi registrado.',
  unavailableTitle: 'Inscrição pausada',
  unavailableBody:
    '{business} ainda não terminou de configurar seu número de WhatsApp, então a inscrição não pode ser concluída agora. Nada foi registrado.',
  linkExpiredTitle: 'Este link expirou',
  linkExpiredBody: 'Este link já foi usado ou é antigo demais. Peça um novo a {business}.',
  linkExpiredBodyGeneric: 'Este link já foi usado ou é antigo demais. Peça um novo.',
  linkInvalidTitle: 'Este link não é válido',
  linkInvalidBody:
    'O link está danificado ou incompleto. Copie o link inteiro da mensagem que você recebeu, ou peça um novo.',
  rateLimitedTitle: 'Tentativas demais',
  rateLimitedBody: 'Aguarde alguns minutos e tente de novo.',
  forbiddenTitle: 'Este formulário não pode ser enviado daqui',
  forbiddenBody: 'Abra a própria página de inscrição e envie o formulário por lá.',
  refusedTitle: 'Não foi possível concluir',
  refusedBody: 'Nada foi registrado. Comece de novo pela página de onde você veio.',
  errorTitle: 'Algo deu errado',
  errorBody: 'Algo deu errado do nosso lado e nada foi alterado. Tente de novo mais tarde.',
  prefsTitle: 'Suas mensagens de WhatsApp de {business}',
  prefsIntro: 'Escolha as mensagens que você quer. As mudanças valem na hora.',
  prefsLegend: 'Mensagens',
  prefsOn: 'Ativado',
  prefsOff: 'Desativado',
  prefsPending: 'Aguardando sua confirmação no WhatsApp',
  prefsConsentNote: 'Ativar um tipo de mensagem significa que você aceita:',
  prefsCannotTurnOn: 'Pode ser desativado aqui, mas não ativado.',
  prefsSave: 'Salvar minhas escolhas',
  prefsStopAll: 'Parar todas as mensagens de WhatsApp de {business}',
  prefsStopAllHint: 'Um clique, sem perguntas.',
  prefsSaved: 'Suas escolhas foram salvas.',
  prefsNothingChanged: 'Nada mudou.',
  prefsStopped: 'Você não vai mais receber mensagens de WhatsApp de {business}.',
  prefsErased: 'Não há mais nada para gerenciar aqui: seus dados foram apagados a seu pedido.',
  prefsTimezone: 'Seu fuso horário',
  prefsTimezoneHint: 'As mensagens esperam o dia chegar onde você está.',
  prefsTimezoneAuto: 'Automático, pelo seu número ({zone})',
  prefsTimezoneAutoNone: 'Automático (o fuso horário da empresa)',
  unsubTitle: 'Cancelar inscrição',
  unsubQuestion: 'Parar os e-mails de convite e as mensagens de WhatsApp de {business}?',
  unsubButton: 'Cancelar inscrição',
  unsubDone: 'Inscrição cancelada. {business} não vai mais enviar e-mails de convite.',
  unsubDoneWhatsApp: 'As mensagens de WhatsApp de {business} para você também foram paradas.',
  languageLabel: 'Idioma',
};

const TABLE: Record<PageLanguage, PageStrings> = { en, es, pt };

export const isPageLanguage = (l: string): l is PageLanguage => (PAGE_LANGUAGES as readonly string[]).includes(l);

/** Strings for a language, `{name}` placeholders filled by `t(key, vars)`. */
export function strings(lang: PageLanguage) {
  const table = TABLE[lang];
  return (key: keyof PageStrings, vars: Record<string, string> = {}): string =>
    table[key].replace(/\{(\w+)\}/g, (m, name: string) => (Object.hasOwn(vars, name) ? vars[name]! : m));
}

/** Accept-Language entries, best first: [{ lang: 'es', region: 'MX' }, …]. */
export function parseAcceptLanguage(header: string | undefined): { lang: string; region: string | null }[] {
  if (!header) return [];
  return header
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      const [lang, region] = (tag ?? '').split('-');
      return {
        lang: (lang ?? '').toLowerCase(),
        region: region && /^[A-Za-z]{2}$/.test(region) ? region.toUpperCase() : null,
        q: q ? Number(q) : 1,
        i,
      };
    })
    .filter((x) => /^[a-z]{2,3}$/.test(x.lang) && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map(({ lang, region }) => ({ lang, region }));
}

/**
 * The page language: ?lang= when shipped, else the browser's first shipped language, else the business's, else English.
 */
export function pickLanguage(
  query: string | undefined,
  acceptLanguage: string | undefined,
  businessDefault: string,
): PageLanguage {
  const q = query?.toLowerCase().split(/[-_]/)[0];
  if (q && isPageLanguage(q)) return q;
  for (const { lang } of parseAcceptLanguage(acceptLanguage)) if (isPageLanguage(lang)) return lang;
  const b = businessDefault.toLowerCase().split(/[-_]/)[0] ?? '';
  return isPageLanguage(b) ? b : 'en';
}
