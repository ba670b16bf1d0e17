import type { ErrorCode } from '../errors.js';

/**
 * What an opt-in may name, checked the same way wherever consent is asked for or recorded: the API and hosted
 * pages (services/consent/record-opt-in.ts), the import (services/import/import-row.ts), SMS and email
 * invitations (services/capture/invitation-checks.ts) and the in-chat prompt (services/whatsapp/send-optin-prompt.ts).
 * Each returns the first refusal, or null; the caller says which field of its input it was.
 */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

export interface RuleTopic {
  key: string;
  category: string;
  archivedAt: number | null;
}

/** Every named topic exists, none is archived, and the business's policy allows each one's category. */
export function topicsRefusal(
  keys: readonly string[],
  find: (key: string) => RuleTopic | undefined,
  allowedCategories: readonly string[],
): Refusal | null {
  const unknown = keys.filter((k) => !find(k));
  if (unknown.length) return { code: 'UNKNOWN_TOPIC', message: `Unknown topic(s): ${unknown.join(', ')}.` };
  const topics = keys.map((k) => find(k)!);
  const archived = topics.filter((t) => t.archivedAt !== null);
  if (archived.length)
    return { code: 'TOPIC_ARCHIVED', message: `Archived topic(s): ${archived.map((t) => t.key).join(', ')}.` };
  const refused = topics.filter((t) => !allowedCategories.includes(t.category));
  if (refused.length)
    return {
      code: 'CATEGORY_NOT_ALLOWED',
      message: `${refused.map((t) => `${t.key} (${t.category})`).join(', ')}: the business's policy does not allow this category.`,
    };
  return null;
}

/** The opt-in text: registered, usable (it passed its policy checks), and covering every named topic. */
export function textRefusal(
  text: { usable: boolean; covers: (key: string) => boolean } | null | undefined,
  keys: readonly string[],
): Refusal | null {
  if (!text) return { code: 'UNKNOWN_TEXT', message: 'No opt-in text with this hash is registered for this business.' };
  if (!text.usable)
    return {
      code: 'TEXT_CHECK_FAILED',
      message: 'This opt-in text failed its policy checks and cannot be used; see its check results.',
    };
  const missing = keys.filter((k) => !text.covers(k));
  if (missing.length)
    return { code: 'TEXT_TOPICS_MISMATCH', message: `The opt-in text does not cover: ${missing.join(', ')}.` };
  return null;
}
