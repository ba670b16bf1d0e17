import { AppError, type FieldProblem } from '../../domain/errors.js';
import type { KeywordConfig } from '../../domain/chat/keywords.js';
import { textShownOn } from '../../domain/consent/text-channels.js';
import { listTopics } from '../../storage/business/business-store.js';
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.js';

/**
 * An opt-in keyword is only configured when what it records would be accepted: its text is registered for this
 * business, passed its checks, may be shown on WhatsApp and covers the keyword's topics, and the topics exist and
 * are live. The pure checks (shape, a word that opts out anywhere) are in domain/chat/keyword-config-extras.ts;
 * these need the database, so they run in the policy write's transaction. `businessId` null (a business being
 * created has no texts yet) refuses every opt-in keyword: register the text, then add the keyword.
 * The same rules are checked again when the keyword is used (record-opt-in.ts, chat-join.ts).
 */
export async function checkOptInKeywordTexts(
  trx: Kysely<DB>,
  businessId: string | null,
  keywords: KeywordConfig | undefined,
): Promise<void> {
  const list = keywords?.optInKeywords ?? [];
  if (list.length === 0) return;
  const hashes = [...new Set(list.map((k) => k.textHash))];
  const texts =
    businessId === null
      ? []
      : await trx
          .selectFrom('consent_texts')
          .select(['hash', 'usable', 'topic_keys', 'channels'])
          .where('business_id', '=', businessId)
          .where('hash', 'in', hashes)
          .execute();
  const topics = businessId === null ? [] : await listTopics(trx, businessId);
  const problems: FieldProblem[] = [];
  list.forEach((k, i) => {
    const f = `policy.keywords.optInKeywords[${i}]`;
    const text = texts.find((t) => t.hash === k.textHash);
    if (!text)
      problems.push({
        field: `${f}.textHash`,
        message: 'no opt-in text with this hash is registered for this business (register the text first)',
      });
    else if (Number(text.usable) !== 1)
      problems.push({ field: `${f}.textHash`, message: 'this opt-in text failed its policy checks' });
    else if (!textShownOn({ channels: JSON.parse(text.channels) as string[] }, 'whatsapp')) {
      problems.push({ field: `${f}.textHash`, message: 'this opt-in text is not registered for the whatsapp channel' });
    } else {
      const covered = new Set(JSON.parse(text.topic_keys) as string[]);
      const missing = k.topics.filter((t) => !covered.has(t));
      if (missing.length)
        problems.push({ field: `${f}.topics`, message: `the opt-in text does not cover ${missing.join(', ')}` });
    }
    const gone = k.topics.filter((key) => !topics.some((t) => t.key === key && t.archivedAt === null));
    if (text && gone.length)
      problems.push({ field: `${f}.topics`, message: `unknown or archived topic(s): ${gone.join(', ')}` });
  });
  if (problems.length)
    throw new AppError(
      'INVALID_POLICY',
      'An opt-in keyword is bound to a text or topics that cannot be used.',
      problems,
    );
}
