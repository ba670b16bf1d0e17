/**
 * The dispatch verdict of one message from facts read in the caller's transaction (the claim reads them in
 * batches; resolve-message reads one message's).
 */
import type { ConsentStatus } from '../domain/consent.js';
import type { GateFacts } from '../domain/gate.js';
import type { MessageKind } from '../storage/outbox-store.js';
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.js';
import { parseJson } from '../storage/json.js';
import { loadCapSends, loadPeople, loadStates, type DispatchPerson, type MessageRow } from '../storage/dispatch-store.js';
import type { BusinessInfo, BusinessInfoCache } from './business-info.js';
import { confirmationVerdict, notificationVerdict, replyVerdict, type DispatchVerdict } from './dispatch-gate.js';

export interface VerdictInput {
  row: MessageRow;
  info: BusinessInfo;
  person: DispatchPerson;
  topicKeys: string[];
  states: Map<string, { status: ConsentStatus; eventId: string }> | undefined;
  sends: { topicId: string | null; sentAt: number }[];
  now: number;
}

export function verdictFor(kind: MessageKind, v: VerdictInput): DispatchVerdict {
  if (kind === 'reply') return replyVerdict({ erased: v.person.erased, lastInboundAt: v.person.lastInboundAt, now: v.now });
  if (kind === 'confirmation') {
    const states = v.topicKeys.map((k) => {
      const t = v.info.topicsByKey.get(k);
      return t ? (v.states?.get(t.id)?.status ?? null) : null;
    });
    return confirmationVerdict({ erased: v.person.erased, suppressed: false, states });
  }
  const topic = v.row.topic_id ? v.info.topicsById.get(v.row.topic_id) : undefined;
  const state = topic ? v.states?.get(topic.id) : undefined;
  const facts: GateFacts = {
    now: v.now,
    policy: v.info.policy,
    topic: topic ? { id: topic.id, key: topic.key, category: topic.category, archived: topic.archivedAt !== null } : null,
    person: { id: v.person.id, erased: v.person.erased, unreachable: v.person.unreachable, timezone: v.person.timezone },
    // An erased person is refused as CONTACT_ERASED already; the suppression list matters only for numbers
    // with no live person, and every message has one.
    suppressed: false,
    state: state ? { status: state.status, eventId: state.eventId } : null,
    recentSends: v.sends
      .map((s) => ({ topicKey: s.topicId ? (v.info.topicsById.get(s.topicId)?.key ?? null) : null, sentAt: s.sentAt }))
      .sort((a, b) => b.sentAt - a.sentAt),
  };
  return notificationVerdict(facts);
}


/** The verdict for one message, reading its facts now (the operator's retry of an unknown message). */
export async function verdictForRow(q: Kysely<DB>, cache: BusinessInfoCache, row: MessageRow, now: number): Promise<DispatchVerdict> {
  const info = await cache.get(q, row.business_id);
  const person = (await loadPeople(q, row.business_id, [row.person_id])).get(row.person_id);
  if (!info || !person) return { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person no longer exists.' };
  const states = (await loadStates(q, row.business_id, [row.person_id])).get(row.person_id);
  const capWindowMs = Math.max(0, ...info.policy.frequencyCaps.map((c) => c.windowHours * 3_600_000), info.policy.minSpacingSeconds * 1000);
  const sends = row.kind === 'notification' && capWindowMs > 0
    ? ((await loadCapSends(q, row.business_id, [row.person_id], now - capWindowMs, now)).get(row.person_id) ?? [])
    : [];
  const payload = parseJson<Record<string, unknown>>(row.payload, {});
  const topicKeys = Array.isArray(payload.topicKeys) ? (payload.topicKeys as unknown[]).filter((k): k is string => typeof k === 'string') : [];
  return verdictFor(row.kind as MessageKind, { row, info, person, topicKeys, states, sends, now });
}
