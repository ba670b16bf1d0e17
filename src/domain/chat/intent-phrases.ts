/**
 * Intent beyond keywords: what people write when they want the messages to end without knowing any keyword
 * ("leave me alone", "para de mandar", "non scrivetemi più").
 *
 * The confidence rule (domain/chat/keywords.ts applies it): a message that is nothing but one of these phrases
 * opts out, recorded with the rule `intent_phrase:<language>`; a phrase or keyword inside a longer message is a
 * mention (rule `keyword_in_sentence`): staff review it and the person is told how to stop, nothing is decided.
 *
 * Each phrase is about messages or contact, never about an order, a booking or a question, and none is an
 * everyday answer ("no more" answers "anything else?", so it is not here; "no more messages" is). Matching
 * uses the keywords' normalisation: case, Latin accents, punctuation and spacing do not matter, and
 * "don't" and "dont" meet. A business adds phrases per language and disables any of these
 * (KeywordConfig.intent).
 */
export const DEFAULT_INTENT_PHRASES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  en: Object.freeze([
    'leave me alone', 'stop messaging me', 'stop texting me', 'stop sending me messages', 'stop sending messages',
    'stop contacting me', "don't message me", 'do not message me', "don't text me", "don't contact me",
    'do not contact me', "don't send me messages", 'do not send me messages', 'no more messages',
    'no more whatsapp messages', 'remove me', 'remove me from your list', 'take me off your list',
    'unsubscribe me', 'i want to unsubscribe', 'opt me out', 'stop spamming me', 'stop all messages',
  ]),
  es: Object.freeze([
    'para de mandar', 'para de mandarme mensajes', 'deja de escribirme', 'dejen de escribirme',
    'deja de mandarme mensajes', 'no me escribas más', 'no me escriban más', 'no me manden más mensajes',
    'no me envíen más mensajes', 'no quiero recibir más mensajes', 'no quiero más mensajes', 'ya no quiero mensajes',
    'déjame en paz', 'déjenme en paz', 'bórrame de la lista', 'quítame de la lista', 'no me molesten',
  ]),
  pt: Object.freeze([
    'para de mandar mensagem', 'para de me mandar mensagem', 'pare de me mandar mensagens',
    'parem de me mandar mensagens', 'não me mande mais mensagens', 'não me enviem mais mensagens',
    'não quero receber mais mensagens', 'não quero mais mensagens', 'me tira da lista', 'me tire da lista',
    'me deixa em paz', 'me deixe em paz', 'para de me encher',
  ]),
  fr: Object.freeze([
    'laissez-moi tranquille', 'laisse-moi tranquille', "arrêtez de m'écrire", "arrête de m'écrire",
    "arrêtez de m'envoyer des messages", "ne m'écrivez plus", "ne m'envoyez plus de messages",
    'je ne veux plus de messages', 'je ne veux plus recevoir de messages', 'désabonnez-moi',
    'retirez-moi de la liste', 'plus de messages', 'stop aux messages',
  ]),
  de: Object.freeze([
    'lasst mich in ruhe', 'lass mich in ruhe', 'lassen sie mich in ruhe', 'hört auf mir zu schreiben',
    'hören sie auf mir zu schreiben', 'schreibt mir nicht mehr', 'schreiben sie mir nicht mehr',
    'keine nachrichten mehr', 'ich will keine nachrichten mehr', 'ich möchte keine nachrichten mehr',
    'bitte keine nachrichten mehr', 'melden sie mich ab', 'meldet mich ab', 'bitte austragen',
  ]),
  it: Object.freeze([
    'non scrivetemi più', 'non scrivermi più', 'non mandatemi più messaggi', 'smettetela di scrivermi',
    'smettila di scrivermi', 'smettete di scrivermi', 'non voglio più messaggi', 'non voglio più ricevere messaggi',
    'lasciatemi in pace', 'lasciami in pace', 'toglietemi dalla lista', 'basta messaggi',
  ]),
  id: Object.freeze([
    'jangan kirim pesan lagi', 'jangan hubungi saya lagi', 'berhenti kirim pesan', 'berhenti mengirim pesan',
    'saya tidak mau pesan lagi', 'tidak mau terima pesan lagi', 'hapus saya dari daftar', 'jangan ganggu saya',
    'stop kirim pesan',
  ]),
  hi: Object.freeze([
    'मुझे मैसेज मत भेजो', 'मैसेज मत भेजो', 'मैसेज भेजना बंद करो', 'मुझे परेशान मत करो', 'मुझे संदेश न भेजें',
    'संदेश भेजना बंद करें', 'MUJHE MESSAGE MAT BHEJO', 'MESSAGE MAT BHEJO', 'MESSAGE BAND KARO', 'MESSAGES BAND KARO',
    'PARESHAN MAT KARO', 'MUJHE PARESHAN MAT KARO',
  ]),
});

/** The rule an intent phrase records in the ledger evidence. */
export const intentRule = (language: string): `intent_phrase:${string}` => `intent_phrase:${language}`;
