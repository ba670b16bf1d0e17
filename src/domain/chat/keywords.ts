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
    [
      'STOP', 'ARRÊT', 'ARRÊTER', 'DÉSABONNER', 'DÉSABONNEMENT', 'DÉSINSCRIRE', 'DÉSINSCRIPTION', 'ANNULER',
      'FIN',
    ],
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
      'रोकें', 'रोको', 'बंद', 'बंद करें', 'बंद करो', 'बंद कर दो', 'रद्द', 'रद्द करें', 'STOP',
      'BAND', 'BAND KARO', 'BAND KAREN', 'BAND KARDO', 'BAND KAR DO', 'RUKO', 'ROKO', 'ROKEN',
    ],
    ['शुरू', 'शुरू करें', 'चालू करें', 'SHURU', 'SHURU KARO'],
    ['मदद', 'सहायता', 'MADAD', 'INFO'],
  ),
});

export interface KeywordConfig {
  /** Packs to use (codes from KEYWORD_LANGUAGES); default: all packs. */
  languages?: string[];
  /** Business-specific additions, matched exactly like the packs' keywords. */
  extra?: { optOut?: string[]; optIn?: string[]; help?: string[] };
  /**
   * Pack keywords the business does not want (say BAND, for an English-speaking clientele). The core keywords
   * (CORE_KEYWORDS) always work: attempts to disable them are ignored here and reported by
   * validateKeywordConfig, because honouring STOP cannot be a per-business choice.
   */
  disabled?: string[];
}

export type KeywordResult =
  /** The whole message is the keyword: act on it. */
  | { type: 'match'; kind: KeywordKind; keyword: string; language: string }
  /** The keyword is inside a longer message: for human review, never acted on. */
  | { type: 'mention'; kind: KeywordKind; keyword: string; language: string }
  | { type: 'none' };

// Built once at load: the matcher runs on every inbound message.
const CONTROL = /\p{Cc}/gu;
// Format characters (zero-width space/joiners, BOM, bidi marks, emoji tags) and variation selectors: invisible,
// and pasted or auto-inserted into words ("S\u200BTOP").
const INVISIBLE = /[\p{Cf}\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu;
// Only marks on Latin letters go: in Devanagari the marks are vowels and nasals (बंद without ं is another word).
const LATIN_MARKS = /(\p{Script=Latin})\p{M}+/gu;
// Emoji, symbols and the keycap mark become spaces, so "stop🛑now" is still two words.
const SYMBOLS = /[\p{S}\u20E3]/gu;
// Emoji go before NFKC, which would otherwise turn some into letters (™ → TM, ℹ️ → i, Ⓜ️ → M).
const EMOJI = /\p{Extended_Pictographic}/gu;
const SPACES = /\s+/gu;
const EDGE_PUNCTUATION = /^[\s\p{P}]+|[\s\p{P}]+$/gu;
const WORD_SEPARATORS = /[\s\p{P}]+/u;

/**
 * The comparable form of a message or keyword: NFKC (full-width and "fancy font" letters become plain ones),
 * invisible characters removed, case-folded, accents removed from Latin letters only, emoji and symbols
 * removed, whitespace collapsed, punctuation around the message removed. Punctuation inside is kept
 * ("don't stop"); word splitting treats it as a separator.
 */
export function normaliseKeywordText(text: string): string {
  return (
    text
      .replace(EMOJI, ' ')
      .normalize('NFKC')
      .replace(CONTROL, ' ')
      .replace(INVISIBLE, '')
      // Upper then lower is a full case fold for our purposes: ß → SS → ss, so STRASSE = Straße.
      .toUpperCase()
      .toLowerCase()
      // NFKC output is NFC, so NFD → strip → NFC leaves every non-Latin character exactly as it was.
      .normalize('NFD')
      .replace(LATIN_MARKS, '$1')
      .normalize('NFC')
      .replace(SYMBOLS, ' ')
      .replace(SPACES, ' ')
      .replace(EDGE_PUNCTUATION, '')
  );
}

function words(normalised: string): string[] {
  return normalised.split(WORD_SEPARATORS).filter((w) => w !== '');
}

interface Entry {
  keyword: string;
  kind: KeywordKind;
  language: string;
  core: boolean;
}

const KINDS: readonly KeywordKind[] = ['opt_out', 'opt_in', 'help'];
// When one message mentions several kinds, staff should see the opt-out first: it is the one with a deadline.
const MENTION_PRIORITY: Record<KeywordKind, number> = { opt_out: 0, opt_in: 1, help: 2 };
const LIST_OF_KIND = { opt_out: 'optOut', opt_in: 'optIn', help: 'help' } as const;

/** Key under which a keyword is looked up: its words joined by one space, or undefined if it has none. */
function keyOf(keyword: string): string | undefined {
  const w = words(normaliseKeywordText(keyword));
  return w.length === 0 ? undefined : w.join(' ');
}

const CORE_KEYS: ReadonlySet<string> = new Set(
  KINDS.flatMap((kind) => CORE_KEYWORDS[kind].map((k) => keyOf(k) as string)),
);

/** Picks the meaning of a key several entries share: a core keyword's kind, else opt-out, else the first. */
function resolve(candidates: Entry[]): Entry {
  const core = candidates.find((c) => c.core);
  const kind = core?.kind ?? (candidates.some((c) => c.kind === 'opt_out') ? 'opt_out' : candidates[0]!.kind);
  // The first candidate of that kind, so a business using only the French pack gets STOP reported as French.
  return candidates.find((c) => c.kind === kind)!;
}

/**
 * The strings of a setting that should be a list. Settings may come unvalidated from storage, and a matcher
 * that throws would drop every STOP, so anything malformed is skipped rather than trusted.
 */
function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function entriesFor(config: KeywordConfig): Entry[] {
  const chosen = config.languages === undefined ? KEYWORD_LANGUAGES : stringsOf(config.languages);
  const languages = chosen.filter((l) => Object.hasOwn(DEFAULT_KEYWORD_PACKS, l));
  const entries: Entry[] = [];
  for (const language of languages) {
    const p = DEFAULT_KEYWORD_PACKS[language]!;
    for (const kind of KINDS) {
      for (const keyword of p[LIST_OF_KIND[kind]]) entries.push({ keyword, kind, language, core: false });
    }
  }
  // A business's own words are in its main language, which is the first pack it chose.
  const extraLanguage = languages[0] ?? 'en';
  for (const kind of KINDS) {
    for (const keyword of stringsOf(config.extra?.[LIST_OF_KIND[kind]])) {
      entries.push({ keyword, kind, language: extraLanguage, core: false });
    }
  }
  // Core last, so a configured pack that also has the word gives its language; resolve() still keeps its kind.
  for (const kind of KINDS) {
    for (const keyword of CORE_KEYWORDS[kind]) entries.push({ keyword, kind, language: 'en', core: true });
  }
  return entries;
}

function buildMaps(config: KeywordConfig): { exact: Map<string, Entry>; compact: Map<string, Entry>; maxWords: number } {
  const disabled = new Set<string>();
  for (const d of stringsOf(config.disabled)) {
    const key = keyOf(d);
    if (key !== undefined && !CORE_KEYS.has(key)) disabled.add(key);
  }
  const exactCandidates = new Map<string, Entry[]>();
  const compactCandidates = new Map<string, Entry[]>();
  let maxWords = 1;
  for (const entry of entriesFor(config)) {
    const key = keyOf(entry.keyword);
    if (key === undefined || disabled.has(key)) continue;
    maxWords = Math.max(maxWords, key.split(' ').length);
    const compactKey = key.replaceAll(' ', '');
    exactCandidates.set(key, [...(exactCandidates.get(key) ?? []), entry]);
    compactCandidates.set(compactKey, [...(compactCandidates.get(compactKey) ?? []), entry]);
  }
  const exact = new Map([...exactCandidates].map(([k, c]) => [k, resolve(c)] as const));
  const compact = new Map([...compactCandidates].map(([k, c]) => [k, resolve(c)] as const));
  return { exact, compact, maxWords };
}

const NONE: KeywordResult = Object.freeze({ type: 'none' });

function result(type: 'match' | 'mention', e: Entry): KeywordResult {
  return { type, kind: e.kind, keyword: e.keyword, language: e.language };
}

/**
 * Builds the matcher for one business's settings. All lookup tables are built here, once; each call is
 * a normalisation plus a few Map lookups per word.
 *
 * A message is a `match` when, after normalisation:
 * - its words are exactly a keyword ("stop all"), or
 * - its words without spaces are a keyword without spaces ("STOPALL", "DARDEBAJA", "S.T.O.P"), or
 * - it is nothing but keywords of one kind ("STOP STOP", "stop, unsubscribe"): repetition is emphasis.
 * Otherwise any keyword found as whole words makes it a `mention`. An emoji alone (🛑, ✋) is `none`: it is
 * as much "wait" or "hello" as "stop", and the policy asks for an opt-out the person can be sure they sent.
 */
export function createKeywordMatcher(config: KeywordConfig = {}): (text: string) => KeywordResult {
  // Stored settings may be null or worse; the core keywords must work regardless.
  const { exact, compact, maxWords } = buildMaps(isPlainObject(config) ? config : {});
  return (text: string): KeywordResult => {
    const w = words(normaliseKeywordText(text));
    if (w.length === 0) return NONE;
    const whole = exact.get(w.join(' ')) ?? compact.get(w.join(''));
    if (whole !== undefined) return result('match', whole);

    // Left to right, longest keyword first at each word, so "stop all" is one keyword, not two.
    const found: Entry[] = [];
    let onlyKeywords = true;
    for (let i = 0; i < w.length; ) {
      let hit: Entry | undefined;
      let length = 1;
      for (let n = Math.min(maxWords, w.length - i); n > 0 && hit === undefined; n--) {
        hit = exact.get(w.slice(i, i + n).join(' '));
        length = n;
      }
      if (hit === undefined) onlyKeywords = false;
      else found.push(hit);
      i += hit === undefined ? 1 : length;
    }
    if (found.length === 0) return NONE;
    const first = found[0]!;
    if (onlyKeywords && found.every((e) => e.kind === first.kind)) return result('match', first);
    const best = found.reduce((a, b) => (MENTION_PRIORITY[b.kind] < MENTION_PRIORITY[a.kind] ? b : a));
    return result('mention', best);
  };
}

export type KeywordConfigError = { field: string; message: string };

const MAX_KEYWORDS_PER_LIST = 100;
const MAX_KEYWORD_LENGTH = 60;
const CONFIG_FIELDS: readonly string[] = ['languages', 'extra', 'disabled'];
const EXTRA_FIELDS: readonly string[] = ['optOut', 'optIn', 'help'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a list of keywords; returns the valid ones with their index and lookup key, for the later checks. */
function checkKeywordList(
  value: unknown,
  field: string,
  errors: KeywordConfigError[],
): { keyword: string; index: number; key: string }[] {
  if (!Array.isArray(value)) {
    errors.push({ field, message: 'must be a list of keywords' });
    return [];
  }
  if (value.length > MAX_KEYWORDS_PER_LIST) {
    errors.push({ field, message: `must have at most ${MAX_KEYWORDS_PER_LIST} keywords` });
  }
  const valid: { keyword: string; index: number; key: string }[] = [];
  value.forEach((keyword: unknown, index) => {
    const f = `${field}[${index}]`;
    const key = typeof keyword === 'string' ? keyOf(keyword) : undefined;
    if (typeof keyword !== 'string') errors.push({ field: f, message: 'must be a string' });
    else if (keyword.length > MAX_KEYWORD_LENGTH) {
      errors.push({ field: f, message: `must be at most ${MAX_KEYWORD_LENGTH} characters` });
    } else if (key === undefined) {
      // Emoji and punctuation are removed before matching, so such a keyword could never match anything.
      errors.push({ field: f, message: 'must contain letters or digits (emoji and punctuation are ignored)' });
    } else valid.push({ keyword, index, key });
  });
  return valid;
}

/**
 * Validates a business's keyword settings, reporting every problem with its field path (`extra.optOut[2]`).
 * Beyond types, it refuses settings that cannot do what they say: disabling a core keyword (the matcher would
 * ignore it), and an extra keyword that already means something else in the packs in use, the core set or
 * another extra list (the matcher would have to pick one meaning silently).
 */
export function validateKeywordConfig(
  config: unknown,
): { ok: true; value: KeywordConfig } | { ok: false; errors: KeywordConfigError[] } {
  if (config === undefined) return { ok: true, value: {} };
  if (!isPlainObject(config)) return { ok: false, errors: [{ field: '', message: 'must be an object' }] };
  const errors: KeywordConfigError[] = [];
  const value: KeywordConfig = {};
  for (const key of Object.keys(config)) {
    if (!CONFIG_FIELDS.includes(key)) errors.push({ field: key, message: 'is not a keyword setting' });
  }

  if (config.languages !== undefined) {
    if (!Array.isArray(config.languages)) {
      errors.push({ field: 'languages', message: 'must be a list of language codes' });
    } else {
      const languages: string[] = [];
      config.languages.forEach((l: unknown, i) => {
        if (typeof l !== 'string' || !KEYWORD_LANGUAGES.includes(l)) {
          errors.push({ field: `languages[${i}]`, message: `must be one of ${KEYWORD_LANGUAGES.join(', ')}` });
        } else if (!languages.includes(l)) languages.push(l);
      });
      value.languages = languages;
    }
  }

  if (config.disabled !== undefined) {
    const disabled = checkKeywordList(config.disabled, 'disabled', errors);
    for (const d of disabled) {
      if (CORE_KEYS.has(d.key)) {
        errors.push({ field: `disabled[${d.index}]`, message: `${d.keyword} is a core keyword and always works` });
      }
    }
    value.disabled = disabled.filter((d) => !CORE_KEYS.has(d.key)).map((d) => d.keyword);
  }

  if (config.extra !== undefined) {
    if (!isPlainObject(config.extra)) {
      errors.push({ field: 'extra', message: 'must be an object with optOut, optIn and help lists' });
    } else {
      const extraIn = config.extra;
      for (const key of Object.keys(extraIn)) {
        if (!EXTRA_FIELDS.includes(key)) errors.push({ field: `extra.${key}`, message: 'must be optOut, optIn or help' });
      }
      // What each key means without the extras, with the packs and disabled words as configured.
      const { exact: existing } = buildMaps({ languages: value.languages, disabled: value.disabled });
      const fromExtras = new Map<string, KeywordKind>();
      const extra: NonNullable<KeywordConfig['extra']> = {};
      for (const kind of KINDS) {
        const list = LIST_OF_KIND[kind];
        if (extraIn[list] === undefined) continue;
        const valid = checkKeywordList(extraIn[list], `extra.${list}`, errors);
        for (const { keyword, index, key } of valid) {
          const meaning = existing.get(key)?.kind ?? fromExtras.get(key);
          if (meaning !== undefined && meaning !== kind) {
            errors.push({ field: `extra.${list}[${index}]`, message: `${keyword} is already a ${meaning} keyword` });
          }
          if (!fromExtras.has(key)) fromExtras.set(key, kind);
        }
        extra[list] = valid.map((v) => v.keyword);
      }
      value.extra = extra;
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
