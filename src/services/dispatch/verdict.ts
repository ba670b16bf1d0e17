/**
 * The dispatch verdict of one message from facts read in the caller's transaction (the claim reads them in
 * batches; resolve-message reads one message's).
 */
import type { ConsentStatus } from '../../domain/consent/model.js';
import { countedSends, type CapRow, type GateFacts } from '../../domain/gate/decide.js';
import type { MessageKind } from '../../storage/dispatch/outbox-store.js';
import { kindAndPayload } from '../../storage/dispatch/outbox-store.js';
import { templateOf, topicKeysOf, type MessagePayload } from '../../domain/messages.js';
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.js';
import { parseJson } from '../../storage/json.js';
import type { DispatchPerson, MessageRow } from '../../storage/dispatch/dispatch-store.js';
import { loadMessageFacts, templateFact } from '../../storage/dispatch/gate-facts.js';
import type { BusinessInfo, BusinessInfoCache } from './business-info.js';
import {
  confirmationVerdict,
  notificationVerdict,
  replyVerdict,
  type DispatchVerdict,
} from '../../domain/gate/dispatch-verdict.js';

export interface VerdictInput {
  row: MessageRow;
  info: BusinessInfo;
  person: DispatchPerson;
  topicKeys: string[];
  states: Map<string, { status: ConsentStatus; eventId: string }> | undefined;
  /**
   * The person's notifications that may count against the caps, as `loadMessageFacts` reads them (queued,
   * sending, sent in the window); `countedSends` decides which count for this row. Entries without a status are
   * taken as sent at `sentAt`.
   */
  sends: CapRow[];
  now: number;
}

export function verdictFor(kind: MessageKind, v: VerdictInput): DispatchVerdict {
  if (kind === 'reply')
    return replyVerdict({ erased: v.person.erased, lastInboundAt: v.person.lastInboundAt, now: v.now });
  if (kind === 'confirmation') {
    const states = v.topicKeys.map((k) => {
      const t = v.info.topicsByKey.get(k);
      return t ? (v.states?.get(t.id)?.status ?? null) : null;
    });
    return confirmationVerdict({ erased: v.person.erased, suppressed: false, states });
  }
  return notificationVerdict(notificationFacts(v));
}

/** The gate's facts for one notification at claim: the same shape, and the same counting, as at enqueue. */
export function notificationFacts(v: VerdictInput): GateFacts {
  const topic = v.row.topic_id ? v.info.topicsById.get(v.row.topic_id) : undefined;
  const state = topic ? v.states?.get(topic.id) : undefined;
  const self = { id: v.row.id, createdAt: Number(v.row.created_at) };
  return {
    now: v.now,
    policy: v.info.policy,
    topic: topic
      ? { id: topic.id, key: topic.key, category: topic.category, archived: topic.archivedAt !== null }
      : null,
    person: {
      id: v.person.id,
      erased: v.person.erased,
      unreachable: v.person.unreachable,
      timezone: v.person.timezone,
      country: v.person.country,
    },
    // An erased person is refused as CONTACT_ERASED already; the suppression list matters only for numbers
    // with no live person, and every message has one.
    suppressed: false,
    state: state ? { status: state.status, eventId: state.eventId } : null,
    recentSends: countedSends(v.sends, (id) => v.info.topicsById.get(id)?.key ?? null, self, v.now),
    // Read from the payload only when the business has a paused template: the common claim parses nothing more.
    template: v.info.pausedTemplates.size > 0 ? templateFact(v.info, templateNameOf(v.row.payload)) : null,
  };
}

const templateNameOf = (payload: string): string | null => {
  const name = templateOf(parseJson<MessagePayload>(payload, {} as MessagePayload))?.name;
  return typeof name === 'string' ? name : null;
};

/**
 * The verdict for one message, reading its facts now in `q` (the operator's retry of an unknown message, the
 * last-moment re-check before a send). The message itself never counts against its own caps.
 */
export async function verdictForRow(
  q: Kysely<DB>,
  cache: BusinessInfoCache,
  row: MessageRow,
  now: number,
): Promise<DispatchVerdict> {
  const info = await cache.get(q, row.business_id);
  if (!info) return { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person no longer exists.' };
  const facts = await loadMessageFacts(
    q,
    info,
    [row.person_id],
    row.kind === 'notification' ? [row.person_id] : [],
    now,
  );
  const person = facts.people.get(row.person_id);
  if (!person) return { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person no longer exists.' };
  const { kind, payload } = kindAndPayload(row);
  return verdictFor(kind, {
    row,
    info,
    person,
    topicKeys: topicKeysOf(payload),
    states: facts.states.get(row.person_id),
    sends: facts.counted.get(row.person_id) ?? [],
    now,
  });
}
