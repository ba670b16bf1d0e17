import { fail } from '../errors.js';

/**
 * A topic's name in the language of the page or text it appears in. `name` is the default (the business's own
 * language); `names` holds translations by language code ("es", "pt-BR"). A regional code falls back to its
 * base language, then to the default name: a page never shows a topic without a name.
 */
export type TopicNames = Readonly<Record<string, string>>;

const base = (lang: string) => lang.toLowerCase().split(/[-_]/)[0] ?? '';

export function topicNameIn(topic: { name: string; names?: TopicNames }, language: string | null | undefined): string {
  const names = topic.names ?? {};
  if (!language) return topic.name;
  const wanted = language.toLowerCase();
  for (const [lang, name] of Object.entries(names)) if (lang.toLowerCase() === wanted) return name;
  for (const [lang, name] of Object.entries(names)) if (base(lang) === base(wanted)) return name;
  return topic.name;
}

const LANGUAGE = /^[a-z]{2,3}([-_][a-z0-9]{2,8})?$/i;

/** Names as stored: trimmed, keys lower-cased; a key that is not a language code, or an empty name, is refused. */
export function cleanTopicNames(names: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [lang, name] of Object.entries(names ?? {})) {
    if (!LANGUAGE.test(lang))
      fail('VALIDATION_FAILED', `"${lang.slice(0, 20)}" is not a language code (such as "es" or "pt-BR").`, 'names');
    const n = name.trim();
    if (!n) fail('VALIDATION_FAILED', `The name in "${lang}" is empty.`, `names.${lang}`);
    if (n) out[lang.toLowerCase()] = n;
  }
  return out;
}
