/**
 * The keyword matcher: turns an inbound WhatsApp message into an opt-out, an opt-in or a help request.
 *
 * One asymmetry drives every choice here. A missed STOP is a policy violation (we keep messaging someone who
 * asked us to stop); a false STOP only blocks messages to someone who can send START. So opt-out words lean
 * towards recognising. A false opt-in sends messages to someone who never agreed, so opt-in words lean the
 * other way and leave out anything that is also an everyday answer.
 *
 * Only a message that *is* a keyword (or an intent phrase, intent-phrases.ts) acts. A keyword inside a longer
 * message ("don't stop my order") is a `mention`: shown to staff for review, never acted on, because the
 * sentence may mean the opposite. Every result names the rule that made it, which the ledger evidence keeps.
 *
 * The packs are in keyword-packs.ts, the normalisation in keyword-text.ts, the settings in keyword-config.ts;
 * keywords.ts gathers them for the callers.
 */
import { CORE_KEYWORDS, DEFAULT_KEYWORD_PACKS, KEYWORD_LANGUAGES, type KeywordKind } from './keyword-packs.js';
import { DEFAULT_INTENT_PHRASES, intentRule } from './intent-phrases.js';
import { compactOf, isPlainObject, keyOf, normaliseKeywordText, stringsOf, words } from './keyword-text.js';
import type { KeywordConfig } from './keyword-config-lists.js';

/**
 * Why a result is what it is: `keyword` (a pack, core or business keyword), `opt_in_keyword` (a fresh opt-in
 * keyword bound to a text), `intent_phrase:<language>`, or `keyword_in_sentence` (a mention).
 */
export type KeywordRule = 'keyword' | 'opt_in_keyword' | `intent_phrase:${string}` | 'keyword_in_sentence';

/** What a fresh opt-in keyword opts in to: the registered text the person was shown, and its topics. */
export interface OptInBinding {
  textHash: string;
  topics: readonly string[];
}

export type KeywordResult =
  /** The whole message is the keyword or phrase: act on it. */
  | { type: 'match'; kind: KeywordKind; keyword: string; language: string; rule: KeywordRule; optIn?: OptInBinding }
  /** The keyword is inside a longer message: for human review, never acted on. */
  | { type: 'mention'; kind: KeywordKind; keyword: string; language: string; rule: 'keyword_in_sentence' }
  | { type: 'none' };

export interface Entry {
  keyword: string;
  kind: KeywordKind;
  language: string;
  core: boolean;
  rule: KeywordRule;
  optIn?: OptInBinding;
  /** An intent phrase: switched off by `intent.disabled`, not by `disabled`. */
  intent?: boolean;
}

export const KINDS: readonly KeywordKind[] = ['opt_out', 'opt_in', 'help'];
// When one message mentions several kinds, staff should see the opt-out first: it is the one with a deadline.
const MENTION_PRIORITY: Record<KeywordKind, number> = { opt_out: 0, opt_in: 1, help: 2 };
export const LIST_OF_KIND = { opt_out: 'optOut', opt_in: 'optIn', help: 'help' } as const;

/** Picks the meaning of a key several entries share: a core keyword's kind, else opt-out, else the first. */
function resolve(candidates: Entry[]): Entry {
  const core = candidates.find((c) => c.core);
  const kind = core?.kind ?? (candidates.some((c) => c.kind === 'opt_out') ? 'opt_out' : candidates[0]!.kind);
  // The first candidate of that kind, so a business using only the French pack gets STOP reported as French.
  return candidates.find((c) => c.kind === kind)!;
}

const isLanguage = (l: unknown): l is string => typeof l === 'string' && /^[a-z]{2,3}(-[A-Za-z]{2})?$/.test(l);

/** The packs in use for a sender: their country's first (widening only), then the business's. */
function languagesFor(config: KeywordConfig, country: string | undefined): string[] {
  const base = config.languages === undefined ? KEYWORD_LANGUAGES : stringsOf(config.languages);
  const countries = isPlainObject(config.countries) ? config.countries : {};
  const own =
    country && Object.hasOwn(countries, country) && isPlainObject(countries[country])
      ? stringsOf(countries[country].languages)
      : [];
  return [...new Set([...own, ...base])].filter((l) => Object.hasOwn(DEFAULT_KEYWORD_PACKS, l));
}

function ownEntries(config: KeywordConfig, mainLanguage: string): Entry[] {
  const entries: Entry[] = [];
  const extra = isPlainObject(config.extra) ? config.extra : {};
  for (const kind of KINDS) {
    const list: unknown = extra[LIST_OF_KIND[kind]];
    for (const e of Array.isArray(list) ? list : []) {
      // A business's own words are in its main language unless they say their own.
      const own = isPlainObject(e) && typeof e.keyword === 'string' ? e : null;
      const keyword = typeof e === 'string' ? e : own?.keyword;
      if (typeof keyword !== 'string') continue;
      const language = isLanguage(own?.language) ? own.language : mainLanguage;
      entries.push({ keyword, kind, language, core: false, rule: 'keyword' });
    }
  }
  for (const o of Array.isArray(config.optInKeywords) ? config.optInKeywords : []) {
    if (!isPlainObject(o) || typeof o.keyword !== 'string' || typeof o.textHash !== 'string') continue;
    const topics = stringsOf(o.topics);
    if (topics.length === 0) continue;
    const language = isLanguage(o.language) ? o.language : mainLanguage;
    entries.push({
      keyword: o.keyword,
      kind: 'opt_in',
      language,
      core: false,
      rule: 'opt_in_keyword',
      optIn: { textHash: o.textHash, topics },
    });
  }
  return entries;
}

function intentEntries(config: KeywordConfig, languages: string[]): Entry[] {
  const entries: Entry[] = [];
  const add = (language: string, phrases: readonly string[]) => {
    for (const keyword of phrases)
      entries.push({ keyword, kind: 'opt_out', language, core: false, rule: intentRule(language), intent: true });
  };
  for (const language of languages) add(language, DEFAULT_INTENT_PHRASES[language] ?? []);
  const own = isPlainObject(config.intent) && isPlainObject(config.intent.phrases) ? config.intent.phrases : {};
  for (const [language, list] of Object.entries(own)) if (isLanguage(language)) add(language, stringsOf(list));
  return entries;
}

function entriesFor(config: KeywordConfig, country: string | undefined): Entry[] {
  const languages = languagesFor(config, country);
  const entries: Entry[] = [];
  for (const language of languages) {
    const p = DEFAULT_KEYWORD_PACKS[language]!;
    for (const kind of KINDS) {
      for (const keyword of p[LIST_OF_KIND[kind]])
        entries.push({ keyword, kind, language, core: false, rule: 'keyword' });
    }
  }
  entries.push(...ownEntries(config, languages[0] ?? 'en'));
  // After the keywords, so a phrase that is also a pack keyword is reported as the keyword.
  entries.push(...intentEntries(config, languages));
  // Core last, so a configured pack that also has the word gives its language; resolve() still keeps its kind.
  for (const kind of KINDS) {
    for (const keyword of CORE_KEYWORDS[kind])
      entries.push({ keyword, kind, language: 'en', core: true, rule: 'keyword' });
  }
  return entries;
}

const CORE_KEY_SET: ReadonlySet<string> = new Set(
  KINDS.flatMap((k) => CORE_KEYWORDS[k].map((w) => keyOf(w) as string)),
);

export function buildMaps(
  config: KeywordConfig,
  country?: string,
): { exact: Map<string, Entry>; compact: Map<string, Entry>; maxWords: number } {
  const disabledKeys = (list: unknown) =>
    new Set(
      stringsOf(list)
        .map(keyOf)
        .filter((k): k is string => k !== undefined && !CORE_KEY_SET.has(k)),
    );
  const disabled = disabledKeys(config.disabled);
  const intentOff = disabledKeys(isPlainObject(config.intent) ? config.intent.disabled : undefined);
  const exactCandidates = new Map<string, Entry[]>();
  const compactCandidates = new Map<string, Entry[]>();
  let maxWords = 1;
  for (const entry of entriesFor(config, country)) {
    const key = keyOf(entry.keyword);
    if (key === undefined || (entry.intent ? intentOff : disabled).has(key)) continue;
    maxWords = Math.max(maxWords, key.split(' ').length);
    const compactKey = compactOf(key);
    exactCandidates.set(key, [...(exactCandidates.get(key) ?? []), entry]);
    compactCandidates.set(compactKey, [...(compactCandidates.get(compactKey) ?? []), entry]);
  }
  const exact = new Map([...exactCandidates].map(([k, c]) => [k, resolve(c)] as const));
  const compact = new Map([...compactCandidates].map(([k, c]) => [k, resolve(c)] as const));
  return { exact, compact, maxWords };
}

const NONE: KeywordResult = Object.freeze({ type: 'none' });

function matchOf(e: Entry): KeywordResult {
  return {
    type: 'match',
    kind: e.kind,
    keyword: e.keyword,
    language: e.language,
    rule: e.rule,
    ...(e.optIn ? { optIn: e.optIn } : {}),
  };
}

/**
 * Builds the matcher for one business's settings and, optionally, the sender's country (ISO 3166 alpha-2, from
 * their number): its packs come first. All lookup tables are built here, once; each call is a normalisation
 * plus a few Map lookups per word.
 *
 * A message is a `match` when, after normalisation:
 * - its words are exactly a keyword or intent phrase ("stop all", "leave me alone"), or
 * - its words without spaces are a keyword without spaces ("STOPALL", "DARDEBAJA", "S.T.O.P"), or
 * - it is nothing but keywords of one meaning ("STOP STOP", "stop, unsubscribe"): repetition is emphasis.
 * Otherwise any keyword or phrase found as whole words makes it a `mention`. An emoji alone (🛑, ✋) is `none`:
 * it is as much "wait" or "hello" as "stop", and the policy asks for an opt-out the person can be sure they sent.
 */
export function createKeywordMatcher(config: KeywordConfig = {}, country?: string): (text: string) => KeywordResult {
  // Stored settings may be null or worse; the core keywords must work regardless.
  const { exact, compact, maxWords } = buildMaps(isPlainObject(config) ? config : {}, country);
  return (text: string): KeywordResult => {
    const w = words(normaliseKeywordText(text));
    if (w.length === 0) return NONE;
    const whole = exact.get(w.join(' ')) ?? compact.get(w.join(''));
    if (whole !== undefined) return matchOf(whole);

    // Left to right, longest keyword first at each word, so "stop all" is one keyword, not two.
    const found: Entry[] = [];
    let onlyKeywords = true;
    for (let i = 0; i < w.length;) {
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
    // Same meaning means same kind and, for opt-ins, the same binding: "JOIN START" is not one clear request.
    if (onlyKeywords && found.every((e) => e.kind === first.kind && e.optIn === first.optIn)) return matchOf(first);
    const best = found.reduce((a, b) => (MENTION_PRIORITY[b.kind] < MENTION_PRIORITY[a.kind] ? b : a));
    return {
      type: 'mention',
      kind: best.kind,
      keyword: best.keyword,
      language: best.language,
      rule: 'keyword_in_sentence',
    };
  };
}
