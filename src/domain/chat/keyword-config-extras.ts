/**
 * Validation of the keyword settings that reach beyond the packs: fresh opt-in keywords, intent phrases and the
 * per-country languages. One rule runs through it: a word that opts out anywhere never opts in. An opt-in
 * keyword is refused when it is, in any language and whatever packs the business uses, an opt-out word, an
 * intent phrase, START, HELP or any other keyword; an intent phrase is refused when it is an opt-in or help word.
 */
import { KEYWORD_LANGUAGES } from './keyword-packs.js';
import { compactOf, isPlainObject } from './keyword-text.js';
import { buildMaps, type Entry } from './keyword-matcher.js';
import {
  checkKeyword,
  checkKeywordList,
  LANGUAGE_TAG,
  type KeywordConfig,
  type KeywordConfigError,
  type OptInKeyword,
} from './keyword-config-lists.js';

const MAX_OPT_IN_KEYWORDS = 50;
const MAX_PHRASE_LENGTH = 120;
const MAX_TOPICS = 50;
const COUNTRY = /^[A-Z]{2}$/;
const OPT_IN_FIELDS: readonly string[] = ['keyword', 'language', 'textHash', 'topics'];

/** Every word's meaning in every pack, with the business's extras and intent phrases: what a new word must not be. */
function everyMeaning(value: KeywordConfig): (key: string) => Entry | undefined {
  const { exact, compact } = buildMaps({ languages: [...KEYWORD_LANGUAGES], extra: value.extra, intent: value.intent });
  return (key) => exact.get(key) ?? compact.get(compactOf(key));
}

function collision(keyword: string, e: Entry): string {
  if (e.kind === 'opt_out')
    return `${keyword} is an opt-out word (${e.keyword}, ${e.language}): it can never start an opt-in`;
  if (e.core) return `${keyword} is ${e.keyword}, a core keyword with its own meaning`;
  return `${keyword} is already a ${e.kind} keyword (${e.keyword}, ${e.language})`;
}

export function validateCountries(input: unknown, errors: KeywordConfigError[]): KeywordConfig['countries'] {
  if (!isPlainObject(input)) {
    errors.push({ field: 'countries', message: 'must map country codes (GB, BR) to { languages }' });
    return undefined;
  }
  const out: NonNullable<KeywordConfig['countries']> = {};
  for (const [cc, v] of Object.entries(input)) {
    const f = `countries.${cc}`;
    if (!COUNTRY.test(cc)) errors.push({ field: f, message: 'must be a two-letter country code such as BR' });
    if (!isPlainObject(v) || !Array.isArray(v.languages) || Object.keys(v).some((k) => k !== 'languages')) {
      errors.push({ field: `${f}.languages`, message: 'must be { languages: [language codes] }' });
      continue;
    }
    const languages: string[] = [];
    v.languages.forEach((l: unknown, i) => {
      if (typeof l !== 'string' || !KEYWORD_LANGUAGES.includes(l)) {
        errors.push({ field: `${f}.languages[${i}]`, message: `must be one of ${KEYWORD_LANGUAGES.join(', ')}` });
      } else if (!languages.includes(l)) languages.push(l);
    });
    out[cc] = { languages };
  }
  return out;
}

export function validateIntent(
  input: unknown,
  value: KeywordConfig,
  errors: KeywordConfigError[],
): KeywordConfig['intent'] {
  if (!isPlainObject(input)) {
    errors.push({ field: 'intent', message: 'must be an object with phrases and disabled' });
    return undefined;
  }
  const out: NonNullable<KeywordConfig['intent']> = {};
  for (const k of Object.keys(input)) {
    if (k !== 'phrases' && k !== 'disabled')
      errors.push({ field: `intent.${k}`, message: 'must be phrases or disabled' });
  }
  if (input.disabled !== undefined) {
    out.disabled = checkKeywordList(input.disabled, 'intent.disabled', errors, { maxLength: MAX_PHRASE_LENGTH }).map(
      (d) => d.keyword,
    );
  }
  if (input.phrases === undefined) return out;
  if (!isPlainObject(input.phrases)) {
    errors.push({ field: 'intent.phrases', message: 'must map language codes to lists of phrases' });
    return out;
  }
  const meaning = everyMeaning({ extra: value.extra });
  const phrases: Record<string, string[]> = {};
  for (const [lang, list] of Object.entries(input.phrases)) {
    const f = `intent.phrases.${lang}`;
    if (!LANGUAGE_TAG.test(lang))
      errors.push({ field: f, message: 'must be keyed by a language code such as pt or pt-BR' });
    const valid = checkKeywordList(list, f, errors, { maxLength: MAX_PHRASE_LENGTH });
    for (const p of valid) {
      const e = meaning(p.key);
      if (e && e.kind !== 'opt_out')
        errors.push({
          field: `${f}[${p.index}]`,
          message: `${p.keyword} is a ${e.kind} keyword (${e.keyword}), not an opt-out`,
        });
    }
    phrases[lang] = valid.map((p) => p.keyword);
  }
  out.phrases = phrases;
  return out;
}

function checkTopics(v: unknown, f: string, errors: KeywordConfigError[]): string[] {
  const ok =
    Array.isArray(v) &&
    v.length > 0 &&
    v.length <= MAX_TOPICS &&
    v.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 64) &&
    new Set(v).size === v.length;
  if (!ok) errors.push({ field: f, message: `must list 1 to ${MAX_TOPICS} different topic keys` });
  return ok ? [...(v as string[])] : [];
}

export function validateOptInKeywords(
  input: unknown,
  value: KeywordConfig,
  errors: KeywordConfigError[],
): OptInKeyword[] {
  if (!Array.isArray(input) || input.length > MAX_OPT_IN_KEYWORDS) {
    errors.push({
      field: 'optInKeywords',
      message: `must be a list of at most ${MAX_OPT_IN_KEYWORDS} opt-in keywords`,
    });
    return [];
  }
  const meaning = everyMeaning(value);
  const seen = new Map<string, string>();
  const out: OptInKeyword[] = [];
  input.forEach((entry: unknown, i) => {
    const f = `optInKeywords[${i}]`;
    if (!isPlainObject(entry)) {
      errors.push({ field: f, message: 'must be { keyword, language, textHash, topics }' });
      return;
    }
    for (const k of Object.keys(entry))
      if (!OPT_IN_FIELDS.includes(k)) errors.push({ field: `${f}.${k}`, message: 'is not an opt-in keyword setting' });
    const key = checkKeyword(entry.keyword, `${f}.keyword`, errors);
    const kw = key === undefined ? undefined : { keyword: entry.keyword as string, key };
    const language = typeof entry.language === 'string' && LANGUAGE_TAG.test(entry.language) ? entry.language : null;
    if (!language) errors.push({ field: `${f}.language`, message: 'must be a language code such as en or pt-BR' });
    const textHash =
      typeof entry.textHash === 'string' && entry.textHash.length > 0 && entry.textHash.length <= 128
        ? entry.textHash
        : null;
    if (!textHash) errors.push({ field: `${f}.textHash`, message: 'must be the hash of a registered opt-in text' });
    const topics = checkTopics(entry.topics, `${f}.topics`, errors);
    if (!kw) return;
    const e = meaning(kw.key);
    const twin = seen.get(kw.key) ?? seen.get(compactOf(kw.key));
    if (e) errors.push({ field: `${f}.keyword`, message: collision(kw.keyword, e) });
    else if (twin !== undefined) errors.push({ field: `${f}.keyword`, message: `${kw.keyword} is already ${twin}` });
    seen.set(kw.key, `optInKeywords entry ${kw.keyword}`);
    seen.set(compactOf(kw.key), `optInKeywords entry ${kw.keyword}`);
    if (language && textHash && topics.length) out.push({ keyword: kw.keyword, language, textHash, topics });
  });
  return out;
}
