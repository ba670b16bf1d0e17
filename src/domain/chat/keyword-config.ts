/**
 * Validation of a business's keyword settings (policy.keywords; their shapes are in keyword-config-lists.ts).
 * The matcher (keyword-matcher.ts) reads these settings leniently, because a matcher that throws would drop
 * every STOP; this is where they are refused, at configuration, with the field that is wrong.
 */
import { CORE_KEYWORDS, KEYWORD_LANGUAGES, type KeywordKind } from './keyword-packs.js';
import { isPlainObject, keyOf } from './keyword-text.js';
import { buildMaps, KINDS, LIST_OF_KIND } from './keyword-matcher.js';
import { validateCountries, validateIntent, validateOptInKeywords } from './keyword-config-extras.js';
import { checkKeywordList, type KeywordConfig, type KeywordConfigError } from './keyword-config-lists.js';

export type { ExtraKeyword, KeywordConfig, KeywordConfigError, OptInKeyword } from './keyword-config-lists.js';

const CONFIG_FIELDS: readonly string[] = ['languages', 'extra', 'disabled', 'optInKeywords', 'intent', 'countries'];
const EXTRA_FIELDS: readonly string[] = ['optOut', 'optIn', 'help'];

const CORE_KEYS: ReadonlySet<string> = new Set(
  KINDS.flatMap((kind) => CORE_KEYWORDS[kind].map((k) => keyOf(k) as string)),
);

function checkLanguages(config: Record<string, unknown>, value: KeywordConfig, errors: KeywordConfigError[]): void {
  if (config.languages === undefined) return;
  if (!Array.isArray(config.languages)) {
    errors.push({ field: 'languages', message: 'must be a list of language codes' });
    return;
  }
  const languages: string[] = [];
  config.languages.forEach((l: unknown, i) => {
    if (typeof l !== 'string' || !KEYWORD_LANGUAGES.includes(l)) {
      errors.push({ field: `languages[${i}]`, message: `must be one of ${KEYWORD_LANGUAGES.join(', ')}` });
    } else if (!languages.includes(l)) languages.push(l);
  });
  value.languages = languages;
}

function checkDisabled(config: Record<string, unknown>, value: KeywordConfig, errors: KeywordConfigError[]): void {
  if (config.disabled === undefined) return;
  const disabled = checkKeywordList(config.disabled, 'disabled', errors);
  for (const d of disabled) {
    if (CORE_KEYS.has(d.key)) {
      errors.push({ field: `disabled[${d.index}]`, message: `${d.keyword} is a core keyword and always works` });
    }
  }
  value.disabled = disabled.filter((d) => !CORE_KEYS.has(d.key)).map((d) => d.keyword);
}

function checkExtra(config: Record<string, unknown>, value: KeywordConfig, errors: KeywordConfigError[]): void {
  if (config.extra === undefined) return;
  if (!isPlainObject(config.extra)) {
    errors.push({ field: 'extra', message: 'must be an object with optOut, optIn and help lists' });
    return;
  }
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
    const valid = checkKeywordList(extraIn[list], `extra.${list}`, errors, { withLanguage: true });
    for (const { keyword, index, key } of valid) {
      const meaning = existing.get(key)?.kind ?? fromExtras.get(key);
      if (meaning !== undefined && meaning !== kind) {
        errors.push({ field: `extra.${list}[${index}]`, message: `${keyword} is already a ${meaning} keyword` });
      }
      if (!fromExtras.has(key)) fromExtras.set(key, kind);
    }
    extra[list] = valid.map((v) => (v.language ? { keyword: v.keyword, language: v.language } : v.keyword));
  }
  value.extra = extra;
}

/**
 * Validates a business's keyword settings, reporting every problem with its field path (`extra.optOut[2]`).
 * Beyond types, it refuses settings that cannot do what they say: disabling a core keyword (the matcher would
 * ignore it), an extra keyword that already means something else in the packs in use, the core set or
 * another extra list (the matcher would have to pick one meaning silently), and an opt-in keyword or intent
 * phrase that is, in any language, a word meaning something else (keyword-config-extras.ts).
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
  checkLanguages(config, value, errors);
  checkDisabled(config, value, errors);
  checkExtra(config, value, errors);
  if (config.countries !== undefined) value.countries = validateCountries(config.countries, errors);
  if (config.intent !== undefined) value.intent = validateIntent(config.intent, value, errors);
  if (config.optInKeywords !== undefined)
    value.optInKeywords = validateOptInKeywords(config.optInKeywords, value, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
