import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.js';
import { textShownOn, type TextChannel } from '../../domain/consent/text-channels.js';
import { toText, type ConsentText } from '../admin/manage-texts.js';

/** "es-MX" -> "es". */
export const baseLanguage = (lang: string) => lang.toLowerCase().split(/[-_]/)[0] ?? '';

/**
 * The text a capture path shows: the newest usable text of the business for that path's channel (a phone
 * script is never shown on a page, a page's words never spoken), in the language asked for (its base language
 * matches), covering every topic asked for; else the same in the business's default language (`fallback`),
 * then in English; else null. Within a language, a text naming exactly the topics asked for wins over one that
 * also names others (a widget offering one topic shows the text for that topic). With no topics asked for, the
 * newest usable text in the language decides which topics are offered. `channel` defaults to the web (the
 * hosted page and the preference page).
 */
export async function chooseOptInText(
  q: Kysely<DB>,
  businessId: string,
  opts: { language: string; topics?: string[]; channel?: TextChannel; fallback?: string | null },
): Promise<ConsentText | null> {
  const channel = opts.channel ?? 'web';
  const rows = await q
    .selectFrom('consent_texts')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('usable', '=', 1)
    .orderBy('created_at', 'desc')
    .orderBy('version', 'desc')
    .execute();
  const texts = rows.map(toText).filter((t) => textShownOn(t, channel));
  const wanted = opts.topics && opts.topics.length ? [...new Set(opts.topics)] : null;
  const covers = (t: ConsentText) => !wanted || wanted.every((k) => t.topicKeys.includes(k));
  const exact = (t: ConsentText) => !!wanted && t.topicKeys.length === wanted.length && covers(t);
  const languages = [opts.language, ...(opts.fallback ? [opts.fallback] : []), 'en'].map(baseLanguage);
  for (const lang of new Set(languages)) {
    const inLang = texts.filter((t) => baseLanguage(t.language) === lang);
    const hit = inLang.find(exact) ?? inLang.find(covers);
    if (hit) return hit;
  }
  return null;
}
