import type { Kysely } from 'kysely';
import type { DB } from './schema.js';
import { canonicalEvent, nextState, stableJson, type ConsentStatus, type EventType, type Scope, type TopicState } from '../domain/consent.js';
import { sha256Hex } from '../lib/crypto.js';
import { newId } from '../lib/ids.js';
import type { PersonRow } from './people-store.js';
import type { Topic } from './business-store.js';

type Q = Kysely<DB>;
export type EventRow = DB['consent_events'];

export interface NewEvent {
  type: EventType;
  scope: Scope;
  topicKeys: string[];
  channel: string;
  action: string;
  textHash: string | null;
  occurredAt: number;
  sourceRef: string | null;
  actor: string;
  evidence: Record<string, unknown>;
}

export async function findEventBySource(q: Q, businessId: string, sourceRef: string): Promise<EventRow | null> {
  return (await q.selectFrom('consent_events').selectAll().where('business_id', '=', businessId).where('source_ref', '=', sourceRef).executeTakeFirst()) ?? null;
}

/**
 * The row `appendEvent` writes for `ev` on top of the person's chain, and the evidence JSON its hash covers.
 * Pure, so the bulk import (services/import-consents.ts) chains events in memory exactly as this store does.
 */
export function chainEvent(
  person: Pick<PersonRow, 'business_id' | 'id' | 'chain_seq' | 'chain_head'>,
  ev: NewEvent,
  now: number,
): { row: EventRow; evidence: string } {
  const evidence = stableJson(ev.evidence);
  const fields = {
    business_id: person.business_id,
    id: newId('evt', now),
    person_id: person.id,
    seq: Number(person.chain_seq) + 1,
    type: ev.type,
    scope: ev.scope,
    topic_keys: JSON.stringify([...ev.topicKeys].sort()),
    channel: ev.channel,
    action: ev.action,
    text_hash: ev.textHash,
    occurred_at: ev.occurredAt,
    recorded_at: now,
    source_ref: ev.sourceRef,
    actor: ev.actor,
    evidence_hash: sha256Hex(evidence),
    prev_hash: person.chain_head,
  };
  return { row: { ...fields, hash: sha256Hex(canonicalEvent(fields)) }, evidence };
}

/**
 * Appends one event to the person's hash chain. The caller holds the person's row lock (lockOrCreatePerson),
 * so `chain_seq` and `chain_head` cannot move underneath us.
 */
export async function appendEvent(q: Q, person: PersonRow, ev: NewEvent, now: number): Promise<EventRow> {
  const { row, evidence } = chainEvent(person, ev, now);
  await q.insertInto('consent_events').values(row).execute();
  await q.insertInto('consent_evidence').values({ business_id: person.business_id, event_id: row.id, evidence }).execute();
  await q
    .updateTable('people')
    .set({ chain_seq: row.seq, chain_head: row.hash, updated_at: now })
    .where('business_id', '=', person.business_id)
    .where('id', '=', person.id)
    .execute();
  person.chain_seq = row.seq;
  person.chain_head = row.hash;
  return row;
}

export async function getStates(q: Q, businessId: string, personId: string): Promise<Map<string, TopicState>> {
  const rows = await q.selectFrom('consent_state').selectAll().where('business_id', '=', businessId).where('person_id', '=', personId).execute();
  return new Map(rows.map((r) => [r.topic_id, { status: r.status as ConsentStatus, decidedAt: Number(r.decided_at), eventId: r.event_id }]));
}

/**
 * The newest "stop everything" of this person: an opt-in the person made before it cannot apply to a topic
 * that had no state yet (for example one created after the STOP).
 */
export async function lastStopAll(q: Q, businessId: string, personId: string): Promise<{ at: number; eventId: string } | null> {
  const r = await q
    .selectFrom('consent_events')
    .select(['occurred_at', 'id'])
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .where('type', '=', 'opt_out')
    .where('scope', '=', 'all')
    .orderBy('occurred_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? { at: Number(r.occurred_at), eventId: r.id } : null;
}

/**
 * The state each topic takes from one event, given the person's current states (by topic id) and latest STOP.
 * Pure, so the opt-in's fast path and the import project exactly as `projectEvent` does.
 */
export function projectionOf(
  current: { get(topicId: string): TopicState | undefined },
  stop: { at: number; eventId: string } | null | undefined,
  topics: Topic[],
  ev: { id: string; type: EventType; occurredAt: number },
  doubleOptIn: boolean,
): { topic: Topic; state: TopicState }[] {
  const changed: { topic: Topic; state: TopicState }[] = [];
  for (const t of topics) {
    let cur = current.get(t.id);
    // A topic never decided before inherits the person's latest STOP as its floor.
    if (!cur && stop) cur = { status: 'opted_out', decidedAt: stop.at, eventId: stop.eventId };
    const next = nextState(cur, ev, doubleOptIn);
    if (next) changed.push({ topic: t, state: next });
  }
  return changed;
}

/** Projects one event onto the state of each topic it touches. Returns the topics whose state changed. */
export async function projectEvent(
  q: Q,
  businessId: string,
  personId: string,
  topics: Topic[],
  ev: { id: string; type: EventType; occurredAt: number },
  opts: { doubleOptIn: boolean; now: number },
): Promise<{ topic: Topic; state: TopicState }[]> {
  const current = await getStates(q, businessId, personId);
  const stop = ev.type === 'opt_in' ? await lastStopAll(q, businessId, personId) : null;
  const changed = projectionOf(current, stop, topics, ev, opts.doubleOptIn);
  for (const { topic: t, state: next } of changed) {
    await q
      .insertInto('consent_state')
      .values({ business_id: businessId, person_id: personId, topic_id: t.id, status: next.status, decided_at: next.decidedAt, event_id: next.eventId, updated_at: opts.now })
      .onConflict((oc) =>
        oc.columns(['business_id', 'person_id', 'topic_id']).doUpdateSet({ status: next.status, decided_at: next.decidedAt, event_id: next.eventId, updated_at: opts.now }),
      )
      .execute();
  }
  return changed;
}
