import { fail, refuseIf } from '../../domain/errors.js';
import { textRefusal, topicsRefusal } from '../../domain/consent/opt-in-rules.js';
import type { Kysely } from 'kysely';
import { getBusiness, getTopicsByKeys, type Business } from '../../storage/business/business-store.js';
import type { DB } from '../../storage/schema.js';
import { isSuppressed } from '../../storage/consent/people-store.js';
import { toText, type ConsentText } from '../admin/manage-texts.js';
import type { Keyring } from '../../lib/crypto.js';

/**
 * What every invitation checks before anything is sent: the business, live topics of allowed categories, and a
 * usable registered text covering them (the invitation shows that text word for word).
 */
export async function checkInvitation(
  q: Kysely<DB>,
  businessId: string,
  topics: string[],
  textHash: string,
): Promise<{ business: Business; text: ConsentText }> {
  const business = await getBusiness(q, businessId);
  if (!business) return fail('NOT_FOUND', 'No such business.', 'businessId');
  const keys = [...new Set(topics)];
  const found = new Map((await getTopicsByKeys(q, businessId, keys)).map((t) => [t.key, t]));
  refuseIf(
    topicsRefusal(keys, (k) => found.get(k), business.policy.allowedCategories),
    'topics',
  );
  const row = await q
    .selectFrom('consent_texts')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('hash', '=', textHash)
    .executeTakeFirst();
  const text = row ? toText(row) : null;
  const r = textRefusal(text && { usable: text.usable, covers: (k) => text.topicKeys.includes(k) }, keys);
  refuseIf(r, r?.code === 'TEXT_TOPICS_MISMATCH' ? 'topics' : 'textHash');
  return { business, text: text! };
}

/**
 * A person who said no is not asked again by SMS or email: an opt-out of any invited topic (or an erasure)
 * refuses the invitation. Only the person can come back, on their own initiative.
 */
export async function refuseIfOptedOut(
  q: Kysely<DB>,
  keyring: Keyring,
  businessId: string,
  phone: string | null,
  topics: string[],
): Promise<void> {
  if (!phone) return;
  if (await isSuppressed(q, businessId, keyring.phoneHash(phone)))
    fail(
      'CONTACT_ERASED',
      "This number was erased at the person's request; no invitation is sent to it.",
      'person.phone',
    );
  const rows = await q
    .selectFrom('consent_state')
    .innerJoin('people', (j) =>
      j
        .onRef('people.business_id', '=', 'consent_state.business_id')
        .onRef('people.id', '=', 'consent_state.person_id'),
    )
    .innerJoin('topics', (j) =>
      j.onRef('topics.business_id', '=', 'consent_state.business_id').onRef('topics.id', '=', 'consent_state.topic_id'),
    )
    .select(['topics.key as key'])
    .where('consent_state.business_id', '=', businessId)
    .where('people.phone_e164', '=', phone)
    .where('consent_state.status', '=', 'opted_out')
    .where('topics.key', 'in', topics)
    .execute();
  if (rows.length)
    fail(
      'RECIPIENT_OPTED_OUT',
      `The person opted out of ${rows.map((r) => r.key).join(', ')}; no invitation is sent.`,
      'person',
    );
}
