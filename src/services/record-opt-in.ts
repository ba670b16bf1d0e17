import { fail } from '../domain/errors.js';
import { ACTIVE_ACTIONS, type Channel } from '../domain/consent.js';
import { getBusiness, getTopicsByKeys, type Business } from '../storage/business-store.js';
import { appendEvent, findEventBySource, projectEvent, type EventRow } from '../storage/consent-store.js';
import { insertMessage } from '../storage/outbox-store.js';
import { isSuppressed, lockOrCreatePerson, type PersonRow } from '../storage/people-store.js';
import type { Trx } from '../storage/db.js';
import type { ServiceContext } from './context.js';
import { resolvePersonRef, type PersonRefInput } from './person-ref.js';

export interface OptInInput {
  person: PersonRefInput;
  topics: string[];
  channel: Channel;
  action: string;
  textHash?: string | null;
  occurredAt?: number;
  evidence: Record<string, unknown>;
  sourceRef?: string | null;
  actor: string;
  language?: string;
}

export interface OptInResult {
  duplicate: boolean;
  event: EventRow;
  personId: string;
  changed: { topic: string; status: string }[];
  confirmationMessageId: string | null;
}

// What each channel must keep as proof that the person acted. The API key is always added by the caller.
const REQUIRED_EVIDENCE: Partial<Record<Channel, string[][]>> = {
  web: [['ip'], ['userAgent'], ['pageUrl']],
  app: [['appUserId', 'deviceId', 'ip']],
  whatsapp: [['messageId']],
  sms: [['messageId']],
  ivr: [['callId'], ['digits']],
  email: [['tokenId']],
  import: [['file'], ['row']],
};

// A keyword reply (START) is its own proof; everywhere else the exact text shown must be kept.
const needsText = (channel: Channel, action: string) => !((channel === 'whatsapp' || channel === 'sms') && action === 'sent_keyword');

export function checkOptInShape(input: OptInInput, now: number): void {
  if (!(ACTIVE_ACTIONS as readonly string[]).includes(input.action)) {
    fail('NO_USER_ACTION', `"${input.action}" is not an active user action. Consent needs one of: ${ACTIVE_ACTIONS.join(', ')}. A person writing to the business is not consent.`, 'action');
  }
  if (input.topics.length === 0) fail('VALIDATION_FAILED', 'Name at least one topic.', 'topics');
  for (const group of REQUIRED_EVIDENCE[input.channel] ?? []) {
    if (!group.some((k) => input.evidence[k] !== undefined && input.evidence[k] !== null && input.evidence[k] !== '')) {
      fail('MISSING_EVIDENCE', `A ${input.channel} opt-in must keep ${group.join(' or ')} as evidence.`, `evidence.${group[0]}`);
    }
  }
  if (needsText(input.channel, input.action) && !input.textHash) {
    fail('MISSING_EVIDENCE', 'Give textHash: the exact opt-in text the person saw must be kept with their consent.', 'textHash');
  }
  if (input.occurredAt !== undefined && input.occurredAt > now + 5 * 60_000) {
    fail('VALIDATION_FAILED', 'occurredAt is in the future.', 'occurredAt');
  }
}

export async function recordOptIn(ctx: ServiceContext, businessId: string, input: OptInInput): Promise<OptInResult> {
  const now = ctx.clock.now();
  checkOptInShape(input, now);
  const ref = resolvePersonRef(input.person, 'person.phone');
  return ctx.database.transaction((trx) => recordOptInTx(ctx, trx, businessId, input, ref, now));
}

/** The opt-in inside a caller's transaction (the WhatsApp and web channels compose it with other writes). */
export async function recordOptInTx(
  ctx: ServiceContext,
  trx: Trx,
  businessId: string,
  input: OptInInput,
  ref: ReturnType<typeof resolvePersonRef>,
  now: number,
): Promise<OptInResult> {
  const business = await getBusiness(trx, businessId);
  if (!business) return fail('NOT_FOUND', 'No such business.', 'businessId');
  const keys = [...new Set(input.topics)];
  const topics = await getTopicsByKeys(trx, businessId, keys);
  const unknown = keys.filter((k) => !topics.some((t) => t.key === k));
  if (unknown.length) fail('UNKNOWN_TOPIC', `Unknown topic(s): ${unknown.join(', ')}.`, 'topics');
  const archived = topics.filter((t) => t.archivedAt !== null);
  if (archived.length) fail('TOPIC_ARCHIVED', `Archived topic(s): ${archived.map((t) => t.key).join(', ')}.`, 'topics');
  const refused = topics.filter((t) => !business.policy.allowedCategories.includes(t.category));
  if (refused.length) {
    fail('CATEGORY_NOT_ALLOWED', `${refused.map((t) => `${t.key} (${t.category})`).join(', ')}: the business's policy does not allow this category.`, 'topics');
  }
  if (input.textHash) await checkText(trx, business, input.textHash, keys);

  if (input.sourceRef) {
    const dup = await findEventBySource(trx, businessId, input.sourceRef);
    if (dup) return { duplicate: true, event: dup, personId: dup.person_id, changed: [], confirmationMessageId: null };
  }

  const evidence = { ...input.evidence };
  if (ref.key.phone) {
    const hash = ctx.keyring.phoneHash(ref.key.phone);
    if (await isSuppressed(trx, businessId, hash)) {
      if (input.channel === 'import') {
        fail('CONTACT_ERASED', 'This number was erased at the person\'s request; an import cannot add it back.', 'person.phone');
      }
      // The person acted again themselves (a new form, a keyword): the suppression is lifted, on the record.
      await trx.deleteFrom('suppressions').where('business_id', '=', businessId).where('phone_hash', '=', hash).execute();
      evidence.resubscribedAfterErasure = true;
    }
  }

  const person = await lockOrCreatePerson(trx, ctx.database.caps, businessId, ref.key, now, { country: ref.country, timezone: ref.timezone, language: input.language ?? null });
  if (person.erased_at !== null) fail('PERSON_ERASED', 'This person was erased; record a new opt-in by phone number instead.', 'person');
  await fillIds(trx, person, ref.key, now);

  const occurredAt = input.occurredAt ?? now;
  const event = await appendEvent(trx, person, {
    type: 'opt_in', scope: 'topics', topicKeys: keys, channel: input.channel, action: input.action,
    textHash: input.textHash ?? null, occurredAt, sourceRef: input.sourceRef ?? null, actor: input.actor, evidence,
  }, now);
  const changed = await projectEvent(trx, businessId, person.id, topics, { id: event.id, type: 'opt_in', occurredAt }, { doubleOptIn: business.policy.doubleOptIn, now });

  // P4: every opt-in that took effect is confirmed on WhatsApp, queued in this same transaction.
  let confirmationMessageId: string | null = null;
  if (changed.length > 0) {
    const msg = await insertMessage(trx, {
      businessId, personId: person.id, topicId: null, kind: 'confirmation', relatedEventId: event.id, notBefore: now,
      payload: { topicKeys: changed.map((c) => c.topic.key), doubleOptIn: business.policy.doubleOptIn, language: input.language ?? person.language ?? business.policy.defaultLanguage },
    }, now);
    confirmationMessageId = msg.id;
  }
  return {
    duplicate: false, event, personId: person.id,
    changed: changed.map((c) => ({ topic: c.topic.key, status: c.state.status })), confirmationMessageId,
  };
}

async function checkText(trx: Trx, business: Business, hash: string, keys: string[]) {
  const t = await trx.selectFrom('consent_texts').select(['usable', 'topic_keys']).where('business_id', '=', business.id).where('hash', '=', hash).executeTakeFirst();
  if (!t) return fail('UNKNOWN_TEXT', 'No opt-in text with this hash is registered for this business.', 'textHash');
  if (Number(t.usable) !== 1) fail('TEXT_CHECK_FAILED', 'This opt-in text failed its policy checks and cannot be used; see its check results.', 'textHash');
  const covered = new Set(JSON.parse(t.topic_keys) as string[]);
  const missing = keys.filter((k) => !covered.has(k));
  if (missing.length) fail('TEXT_TOPICS_MISMATCH', `The opt-in text does not cover: ${missing.join(', ')}.`, 'topics');
}

/** Learns WhatsApp ids for a person known by phone (and the reverse) as they arrive. */
async function fillIds(trx: Trx, person: PersonRow, key: { waId?: string; bsuid?: string }, now: number) {
  const set: { wa_id?: string; bsuid?: string; updated_at?: number } = {};
  if (key.waId && !person.wa_id) set.wa_id = key.waId;
  if (key.bsuid && !person.bsuid) set.bsuid = key.bsuid;
  if (!set.wa_id && !set.bsuid) return;
  set.updated_at = now;
  await trx.updateTable('people').set(set).where('business_id', '=', person.business_id).where('id', '=', person.id).execute();
}
