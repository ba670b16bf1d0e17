/**
 * The shapes of a business's keyword settings (policy.keywords) and the checks every list of them shares.
 * The matcher reads these leniently; keyword-config.ts is where they are refused, naming the field.
 */
import { isPlainObject, keyOf } from './keyword-text.js';

/** A business's own keyword: a plain string takes the business's main language (the first pack in use). */
export type ExtraKeyword = string | { keyword: string; language: string };

/**
 * A fresh opt-in keyword ("send JOIN to get delivery updates"): bound to a registered opt-in text that passed
 * its checks, may be shown on WhatsApp, and covers `topics`. The person who sends it opts in to those topics.
 */
export interface OptInKeyword {
  keyword: string;
  /** The keyword's language: the confirmation and replies use it. */
  language: string;
  textHash: string;
  topics: string[];
}

export interface KeywordConfig {
  /** Packs to use (codes from KEYWORD_LANGUAGES); default: all packs. */
  languages?: string[];
  /** Business-specific additions, matched exactly like the packs' keywords. */
  extra?: { optOut?: ExtraKeyword[]; optIn?: ExtraKeyword[]; help?: ExtraKeyword[] };
  /**
   * Pack keywords the business does not want (say BAND, for an English-speaking clientele). The core keywords
   * (CORE_KEYWORDS) always work: attempts to disable them are ignored here and reported by
   * validateKeywordConfig, because honouring STOP cannot be a per-business choice.
   */
  disabled?: string[];
  /** Fresh opt-in keywords, each bound to a checked text and topics. */
  optInKeywords?: OptInKeyword[];
  /** Intent phrases (intent-phrases.ts): more per language (always in use), default ones switched off. */
  intent?: { phrases?: Record<string, string[]>; disabled?: string[] };
  /**
   * Per country of the sender's number (ISO 3166 alpha-2): packs that come first for them. They are added in
   * front of `languages`, never instead, so a country setting can only widen what opts out; the first one is the
   * language of their replies and of the business's own keywords without a language.
   */
  countries?: Record<string, { languages: string[] }>;
}

export type KeywordConfigError = { field: string; message: string };

export const MAX_KEYWORDS_PER_LIST = 100;
export const MAX_KEYWORD_LENGTH = 60;
/** A language tag for a keyword or phrase: "pt", "pt-BR". */
export const LANGUAGE_TAG = /^[a-z]{2,3}(-[A-Za-z]{2})?$/;

export type CheckedKeyword = { keyword: string; index: number; key: string; language?: string };

/**
 * Checks a list of keywords; returns the valid ones with their index and lookup key, for the later checks.
 * With `withLanguage`, an entry may also be `{ keyword, language }`.
 */
export function checkKeywordList(
  value: unknown,
  field: string,
  errors: KeywordConfigError[],
  o: { withLanguage?: boolean; maxLength?: number } = {},
): CheckedKeyword[] {
  if (!Array.isArray(value)) {
    errors.push({ field, message: 'must be a list of keywords' });
    return [];
  }
  if (value.length > MAX_KEYWORDS_PER_LIST) {
    errors.push({ field, message: `must have at most ${MAX_KEYWORDS_PER_LIST} keywords` });
  }
  const maxLength = o.maxLength ?? MAX_KEYWORD_LENGTH;
  const valid: CheckedKeyword[] = [];
  value.forEach((entry: unknown, index) => {
    let f = `${field}[${index}]`;
    let keyword: unknown = entry;
    let language: string | undefined;
    if (o.withLanguage && isPlainObject(entry)) {
      const extraKeys = Object.keys(entry).filter((k) => k !== 'keyword' && k !== 'language');
      if (extraKeys.length) errors.push({ field: `${f}.${extraKeys[0]}`, message: 'is not a keyword setting' });
      if (typeof entry.language !== 'string' || !LANGUAGE_TAG.test(entry.language)) {
        errors.push({ field: `${f}.language`, message: 'must be a language code such as pt or pt-BR' });
      } else language = entry.language;
      keyword = entry.keyword;
      f = `${f}.keyword`;
    }
    const key = checkKeyword(keyword, f, errors, maxLength);
    if (key !== undefined) valid.push({ keyword: keyword as string, index, key, ...(language ? { language } : {}) });
  });
  return valid;
}

/** One keyword or phrase: its lookup key, or undefined after reporting why it cannot be one. */
export function checkKeyword(
  keyword: unknown,
  f: string,
  errors: KeywordConfigError[],
  maxLength = MAX_KEYWORD_LENGTH,
): string | undefined {
  const key = typeof keyword === 'string' ? keyOf(keyword) : undefined;
  if (typeof keyword !== 'string') errors.push({ field: f, message: 'must be a string' });
  else if (keyword.length > maxLength) errors.push({ field: f, message: `must be at most ${maxLength} characters` });
  else if (key === undefined) {
    // Emoji and punctuation are removed before matching, so such a keyword could never match anything.
    errors.push({ field: f, message: 'must contain letters or digits (emoji and punctuation are ignored)' });
  } else return key;
  return undefined;
}
