/**
 * Chat keywords: turns an inbound WhatsApp message into an opt-out, an opt-in or a help request.
 *
 * One asymmetry drives every choice here. A missed STOP is a policy violation (we keep messaging someone who
 * asked us to stop); a false STOP only blocks messages to someone who can send START. So opt-out words lean
 * towards recognising. A false opt-in sends messages to someone who never agreed, so opt-in words lean the
 * other way and leave out anything that is also an everyday answer.
 *
 * Only a message that *is* a keyword acts. A keyword inside a longer message ("don't stop my order") is a
 * `mention`: shown to staff for review, never acted on, because the sentence may mean the opposite.
 */

export type KeywordKind = 'opt_out' | 'opt_in' | 'help';

export interface KeywordPack {
  language: string;
  optOut: string[];
  optIn: string[];
  help: string[];
}

export const KEYWORD_LANGUAGES: readonly string[] = Object.freeze(['en', 'es', 'pt', 'fr', 'de', 'it', 'id', 'hi']);

/**
 * The English keywords no business can switch off: the carrier-industry standard set (STOP, STOPALL,
 * UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE), START to come back and HELP. People expect these to work
 * everywhere, and the replies we send ("Reply START…", "Reply STOP…") name them, so they must always be true.
 */
export const CORE_KEYWORDS: Readonly<Record<KeywordKind, readonly string[]>> = Object.freeze({
  opt_out: Object.freeze(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE']),
  opt_in: Object.freeze(['START']),
  help: Object.freeze(['HELP']),
});

function pack(language: string, optOut: string[], optIn: string[], help: string[]): KeywordPack {
  // Frozen so no caller can change the defaults of every other business by pushing to an array.
  return Object.freeze({
    language,
    optOut: Object.freeze(optOut) as string[],
    optIn: Object.freeze(optIn) as string[],
    help: Object.freeze(help) as string[],
  });
}

/*
 * Spellings only need one form per word: matching ignores case and Latin accents, so ARRÊT covers ARRET, and
 * multi-word keywords match with any spacing ("DAR  DE BAJA", "DARDEBAJA"). Every pack lists STOP because it
 * is understood everywhere; a business that uses only the Spanish pack then gets its STOP reply in Spanish.
 * Nobody's "yes" (YES, SÍ, SIM, OUI, JA, SÌ, YA, हाँ) is an opt-in: the same chat asks questions ("Is this
 * address right?"), and a bare yes to one of them must not subscribe anyone.
 */
export const DEFAULT_KEYWORD_PACKS: Readonly<Record<string, KeywordPack>> = Object.freeze({
  en: pack(
    'en',
    // UNSUB: a common short form; nothing else means it.
    ['STOP', 'STOPALL', 'STOP ALL', 'UNSUBSCRIBE', 'UNSUB', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'OPT OUT', 'REVOKE'],
    ['START', 'UNSTOP', 'SUBSCRIBE', 'OPTIN', 'OPT IN'],
    ['HELP', 'INFO'],
  ),
  es: pack(
    'es',
    // PARA (imperative of parar) is left out: it is also the preposition "for", in almost every sentence.
    // NO MÁS is left out: it is the usual answer to "¿algo más?" ("anything else?").
    ['BAJA', 'DAR DE BAJA', 'DARME DE BAJA', 'PARAR', 'DETENER', 'CANCELAR', 'CANCELA', 'ALTO', 'FIN', 'STOP'],
    ['ALTA', 'INICIAR', 'COMENZAR', 'SUSCRIBIR', 'SUSCRIBIRME'],
    ['AYUDA', 'INFO'],
  ),
  pt: pack(
    'pt',
    // NÃO QUERO alone is left out (it answers any question: "Quer o recibo?" "Não quero"); NÃO QUERO MAIS
    // ("I don't want [these] any more") is kept. PARE and CHEGA ("enough!") are what people actually type.
    ['PARAR', 'PARE', 'SAIR', 'CANCELAR', 'CANCELA', 'DESCADASTRAR', 'NÃO QUERO MAIS', 'CHEGA', 'STOP'],
    // VOLTAR is left out: Brazilian chat menus use it for "back to the menu". ASSINAR also means "to sign".
    ['COMEÇAR', 'INICIAR'],
    ['AJUDA', 'INFO'],
  ),
  fr: pack(
    'fr',
    // STOP is the French SMS standard ("STOP au 36xxx"), so it comes first here too.
    ['STOP', 'ARRÊT', 'ARRÊTER', 'DÉSABONNER', 'DÉSABONNEMENT', 'DÉSINSCRIRE', 'DÉSINSCRIPTION', 'ANNULER', 'FIN'],
    // REPRENDRE ("resume") is kept: it only makes sense after a pause, exactly like UNSTOP.
    ['COMMENCER', 'REPRENDRE', 'ABONNER'],
    ['AIDE', 'INFO'],
  ),
  de: pack(
    'de',
    // KUENDIGEN/AUFHOEREN: the spellings of keyboards without umlauts. STORNIEREN is left out: it cancels
    // an order or a booking, not messages, and a whole-message STORNIEREN would be a request about the order.
    ['STOPP', 'STOP', 'ABMELDEN', 'ABBESTELLEN', 'KÜNDIGEN', 'KUENDIGEN', 'BEENDEN', 'ENDE', 'AUFHÖREN', 'AUFHOEREN'],
    ['START', 'STARTEN', 'ANMELDEN'],
    ['HILFE', 'INFO'],
  ),
  it: pack(
    'it',
    // BASTA ("enough") is kept: as a whole message it can only mean stop. In sentences it is only a mention.
    ['STOP', 'ANNULLA', 'FERMA', 'BASTA', 'DISISCRIVI', 'DISISCRIVIMI', 'CANCELLA', 'DISATTIVA'],
    ['INIZIA', 'ISCRIVI', 'ISCRIVIMI', 'RIATTIVA'],
    ['AIUTO', 'INFO'],
  ),
  id: pack(
    'id',
    // UNREG is the long-standing Indonesian SMS opt-out word.
    ['BERHENTI', 'STOP', 'BATAL', 'KELUAR', 'HENTIKAN', 'UNREG'],
    // DAFTAR is left out: it also means "list" ("daftar harga", price list), so it is a menu request too.
    ['MULAI'],
    // TOLONG is left out: it is "please" at the start of ordinary requests.
    ['BANTUAN', 'INFO'],
  ),
  hi: pack(
    'hi',
    // Devanagari forms plus the romanised Hinglish people type on Latin keyboards. BAND is kept although it is
    // an English word: as a whole message nobody writes "band" to a business, and a false STOP is recoverable.
    [
      'रोकें',
      'रोको',
      'बंद',
      'बंद करें',
      'बंद करो',
      'बंद कर दो',
      'रद्द',
      'रद्द करें',
      'STOP',
      'BAND',
      'BAND KARO',
      'BAND KAREN',
      'BAND KARDO',
      'BAND KAR DO',
      'RUKO',
      'ROKO',
      'ROKEN',
    ],
    ['शुरू', 'शुरू करें', 'चालू करें', 'SHURU', 'SHURU KARO'],
    ['मदद', 'सहायता', 'MADAD', 'INFO'],
  ),
});
