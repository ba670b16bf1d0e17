/**
 * The one normalisation every chat keyword, opt-in keyword and intent phrase goes through, on both sides: the
 * configured word and the inbound message. Keeping it in one place is what makes "matched with the same
 * normalisation as STOP" true for every kind of word.
 */

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

export function words(normalised: string): string[] {
  return normalised.split(WORD_SEPARATORS).filter((w) => w !== '');
}

/** Key under which a keyword is looked up: its words joined by one space, or undefined if it has none. */
export function keyOf(keyword: string): string | undefined {
  const w = words(normaliseKeywordText(keyword));
  return w.length === 0 ? undefined : w.join(' ');
}

/** The key without spaces: "DAR DE BAJA", "DARDEBAJA" and "S.T.O.P" meet here. */
export const compactOf = (key: string): string => key.replaceAll(' ', '');

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The strings of a setting that should be a list. Settings may come unvalidated from storage, and a matcher
 * that throws would drop every STOP, so anything malformed is skipped rather than trusted.
 */
export function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
