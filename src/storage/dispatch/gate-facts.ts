/**
 * THE fact loader of the send gate (domain/gate/decide.ts), for both points where it decides: at enqueue
 * (`loadGateFacts`: one person by key, one statement on the hot path) and at claim (`loadMessageFacts`: the
 * people of a claim round in a few set-based statements). Both read the same things the same way: the business
 * and its topics from the one versioned cache (storage/business/business-cache.ts), the person, their consent state,
 * and
 * the notifications that count against the caps (`COUNTED_STATUSES`, sent within the window); both hand the
 * rows to the domain's `countedSends`, which alone decides what counts.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { Database } from '../db.js';
import type { ConsentStatus } from '../../domain/consent/model.js';
import { countedSends, gateWindowMs, type CapRow, type GateFacts } from '../../domain/gate/decide.js';
import type { CachedBusiness } from '../business/business-cache.js';
import { isSuppressed, keyColumn, type PersonKey } from '../consent/people-store.js';
import { loadPeople, loadStates, type DispatchPerson } from './dispatch-store.js';
import { countedAt, gateFactsRead, type GateRow } from './gate-facts-read.js';

type Q = Kysely<DB>;

export { COUNTED_STATUSES } from './gate-facts-read.js';

const topicFact = (
  t: { id: string; key: string; category: string; archivedAt: number | null } | undefined,
): GateFacts['topic'] =>
  t
    ? {
        id: t.id,
        key: t.key,
        category: t.category as NonNullable<GateFacts['topic']>['category'],
        archived: t.archivedAt !== null,
      }
    : null;

/**
 * The template fact, at enqueue and at claim alike: paused when the cached business (at its current version) says so.
 */
export const templateFact = (
  b: Pick<CachedBusiness, 'pausedTemplates'>,
  name: string | null | undefined,
): GateFacts['template'] => (name ? { name, paused: b.pausedTemplates.has(name) } : null);

/**
 * Everything the gate needs at enqueue, in one round trip on the common path: the cached business checked
 * against the version read in the same statement as person + state + counted notifications; the suppression
 * list only when no live person matches the number. When the version moved, the business is reloaded and, if
 * the topic or the window it read with changed, the facts are read again: a decision never rests on an old
 * topic list or policy.
 */
export async function loadGateFacts(
  database: Database,
  q: Q,
  businessId: string,
  person: PersonKey,
  topicKey: string,
  now: number,
  phoneHash: (e164: string) => string,
  templateName: string | null = null,
): Promise<(GateFacts & { personId: string | null; topicId: string | null }) | null> {
  const cache = database.caches.businesses;
  let b: CachedBusiness | null = cache.peek(businessId) ?? (await cache.load(q, businessId));
  if (!b) return null;
  const reader = gateFactsRead(database);
  let row: GateRow | undefined;
  for (let round = 0; ; round++) {
    const topicId = b.topicsByKey.get(topicKey)?.id ?? '';
    const windowMs = gateWindowMs(b.policy);
    row = await reader.read(q, businessId, person, topicId, now - windowMs);
    if (!row) return null;
    const version = row.configVersion;
    if (version <= b.version) break;
    const fresh: CachedBusiness | null = await cache.at(q, businessId, version);
    if (!fresh) return null;
    const same = (fresh.topicsByKey.get(topicKey)?.id ?? '') === topicId && gateWindowMs(fresh.policy) === windowMs;
    b = fresh;
    // Bounded: a business whose settings change on every read is decided on the newest ones read.
    if (same || round === 2) break;
  }
  const topic = b.topicsByKey.get(topicKey);
  let suppressed = false;
  if ((!row.personId || row.erasedAt !== null) && person.phone)
    suppressed = await isSuppressed(q, businessId, phoneHash(person.phone));
  const topicsById = b.topicsById;
  return {
    now,
    policy: b.policy,
    topic: topicFact(topic),
    person: row.personId
      ? {
          id: row.personId,
          erased: row.erasedAt !== null,
          unreachable: row.unreachableAt !== null,
          timezone: row.timezone,
          country: row.country,
        }
      : null,
    suppressed,
    state: row.status ? { status: row.status as ConsentStatus, eventId: row.eventId! } : null,
    recentSends:
      gateWindowMs(b.policy) > 0 ? countedSends(row.sends, (id) => topicsById.get(id)?.key ?? null, null, now) : [],
    template: templateFact(b, templateName),
    personId: row.personId,
    topicId: topic?.id ?? null,
  };
}

export interface MessageFacts {
  people: Map<string, DispatchPerson>;
  states: Map<string, Map<string, { status: ConsentStatus; eventId: string }>>;
  /** Per person, their counted notifications (CapRow, with id and created_at so the claim can tell "ahead"). */
  counted: Map<string, CapRow[]>;
}

/**
 * The same facts for the people of a claim round (or of one message being re-checked): people, states, and
 * counted notifications, read in the caller's transaction. `notified` are the people with a notification in the
 * round (only they need the caps' rows).
 */
export async function loadMessageFacts(
  q: Q,
  business: Pick<CachedBusiness, 'id' | 'policy'>,
  personIds: string[],
  notified: string[],
  now: number,
): Promise<MessageFacts> {
  const people = await loadPeople(q, business.id, personIds);
  const states = await loadStates(q, business.id, personIds);
  const counted = new Map<string, CapRow[]>();
  const windowMs = gateWindowMs(business.policy);
  if (windowMs > 0 && notified.length) {
    const rows = await q
      .selectFrom('messages')
      .select(['id', 'person_id', 'topic_id', 'sent_at', 'status', 'created_at'])
      .where('business_id', '=', business.id)
      .where('person_id', 'in', notified)
      .where('kind', '=', 'notification')
      .where(sql.raw(countedAt('messages')), '>', now - windowMs)
      .execute();
    for (const r of rows) {
      let l = counted.get(r.person_id);
      if (!l) counted.set(r.person_id, (l = []));
      l.push({
        id: r.id,
        topicId: r.topic_id,
        sentAt: r.sent_at === null ? null : Number(r.sent_at),
        status: r.status,
        createdAt: Number(r.created_at),
      });
    }
  }
  return { people, states, counted };
}
