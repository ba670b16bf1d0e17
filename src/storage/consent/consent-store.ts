import { CompiledQuery, SqliteAdapter, sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import {
  canonicalEvent,
  isConditional,
  needsReplay,
  orderKey,
  stableJson,
  type ChainedEventFields,
  type ConsentStatus,
  type EventType,
  type HistoryEvent,
  type Scope,
  type TimedEvent,
  type TopicState,
} from '../../domain/consent/model.js';
import { KEYED_HASH_PREFIX, sha256Hex, type LedgerKey } from '../../lib/crypto.js';
import { newId } from '../../lib/ids.js';
import { residual } from '../residual.js';
import type { PersonRow } from './people-store.js';
import type { Topic } from '../business/business-store.js';
import { deliveryOfLedgerEvent, enqueueDeliveries, enqueueSql } from '../webhooks/delivery-enqueue.js';
import { EVENT_COLUMNS, pgType } from '../columns.js';

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
  /** Precision of occurredAt in ms as its source gave it (domain/consent/model.ts); absent: exact. */
  precisionMs?: number | null;
  sourceRef: string | null;
  actor: string;
  evidence: Record<string, unknown>;
}

export async function findEventBySource(q: Q, businessId: string, sourceRef: string): Promise<EventRow | null> {
  return (
    (await q
      .selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('source_ref', '=', sourceRef)
      .executeTakeFirst()) ?? null
  );
}

/**
 * The one home of the event hash: HMAC-SHA256 under a key derived from the master key, written `k1:<hex>`,
 * so a chain rewritten and recomputed without the key no longer verifies.
 */
export function eventHash(ledger: LedgerKey, fields: ChainedEventFields): string {
  return ledger.eventHash(canonicalEvent(fields));
}

/** Which scheme a stored hash was made with: `keyed` (`k1:`) or `legacy` (bare SHA-256, events from before). */
export function hashScheme(hash: string): 'keyed' | 'legacy' {
  return hash.startsWith(KEYED_HASH_PREFIX) ? 'keyed' : 'legacy';
}

/** Recomputes a stored event's hash with the scheme it names (legacy events verify exactly as before). */
export function recomputeEventHash(ledger: LedgerKey, e: EventRow): string {
  const { hash, ...rest } = e;
  const fields = {
    ...rest,
    seq: Number(e.seq),
    occurred_at: Number(e.occurred_at),
    recorded_at: Number(e.recorded_at),
  };
  return hashScheme(hash) === 'keyed' ? eventHash(ledger, fields) : sha256Hex(canonicalEvent(fields));
}

/**
 * The row `appendEvent` writes for `ev` on top of the person's chain, and the evidence JSON its hash covers.
 * Pure, so the bulk import (services/import/import-consents.ts) chains events in memory exactly as this store does.
 */
export function chainEvent(
  person: Pick<PersonRow, 'business_id' | 'id' | 'chain_seq' | 'chain_head'>,
  ev: NewEvent,
  now: number,
  ledger: LedgerKey,
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
    occurred_precision_ms: ev.precisionMs && ev.precisionMs > 1 ? Math.floor(ev.precisionMs) : null,
  };
  return { row: { ...fields, hash: eventHash(ledger, fields) }, evidence };
}

/**
 * Appends one event to the person's hash chain. The caller holds the person's row lock (lockOrCreatePerson),
 * so `chain_seq` and `chain_head` cannot move underneath us.
 */
export async function appendEvent(
  q: Q,
  person: PersonRow,
  ev: NewEvent,
  now: number,
  ledger: LedgerKey,
): Promise<EventRow> {
  const { row, evidence } = chainEvent(person, ev, now, ledger);
  const condKey = condKeyAfter(person, row);
  if (q.getExecutor().adapter instanceof SqliteAdapter) {
    await q.insertInto('consent_events').values(row).execute();
    await q
      .insertInto('consent_evidence')
      .values({ business_id: person.business_id, event_id: row.id, evidence })
      .execute();
    // Outbound consent webhooks: queued in this same transaction, for the business's subscribed endpoints.
    await enqueueDeliveries(q, deliveryOfLedgerEvent(row));
    await q
      .updateTable('people')
      .set({ chain_seq: row.seq, chain_head: row.hash, updated_at: now, cond_key: condKey })
      .where('business_id', '=', person.business_id)
      .where('id', '=', person.id)
      .execute();
  } else {
    // PostgreSQL: the same four writes as one statement (data-modifying CTEs), one round trip instead of four.
    // The caller holds the person's lock, so the person's write finds its row; if it did not, nothing is written
    // and this throws rather than report an event that is not there.
    const v: unknown[] = [];
    const p = (value: unknown, type: string) => `$${v.push(value)}::${type}`;
    const personCte = `p AS (UPDATE people SET chain_seq = ${p(row.seq, 'integer')}, chain_head = ${p(row.hash, 'text')},
      updated_at = ${p(now, 'bigint')}, cond_key = ${p(condKey, 'bigint')}
      WHERE business_id = ${p(person.business_id, 'text')} AND id = ${p(person.id, 'text')} RETURNING id)`;
    const text = `WITH ${[personCte, ...pgEventCtes(p, row, evidence)].join(',\n')} SELECT count(*)::int AS n FROM p`;
    const { rows } = await q.executeQuery<{ n: number }>(CompiledQuery.raw(text, v));
    if (rows[0]?.n !== 1) throw new Error(`appendEvent: person ${person.id} not found`);
  }
  person.chain_seq = row.seq;
  person.chain_head = row.hash;
  person.cond_key = condKey;
  return row;
}

/**
 * PostgreSQL's one-statement writes of a ledger event (appendEvent, the opt-in's pgWrite): the event, its evidence
 * and its outbound webhook deliveries (for the business's subscribed endpoints) as data-modifying CTEs that select
 * from `p`, the CTE writing the person's row (RETURNING id), so that none of them is written when that row is not.
 * `p` makes the placeholders, in text order: call it after the CTEs that come before these.
 */
export function pgEventCtes(p: (value: unknown, type: string) => string, e: EventRow, evidence: string): string[] {
  const cte = [
    `e AS (INSERT INTO consent_events (${EVENT_COLUMNS.join(', ')}) SELECT ${EVENT_COLUMNS.map((c) => p(e[c], pgType(c))).join(', ')} FROM p)`,
    `v AS (INSERT INTO consent_evidence (business_id, event_id, evidence) SELECT ${p(e.business_id, 'text')}, ${p(e.id, 'text')}, ${p(evidence, 'text')} FROM p)`,
  ];
  const hook = deliveryOfLedgerEvent(e);
  if (hook) cte.push(`w AS (${enqueueSql(p, hook, ', p')})`);
  return cte;
}

export async function getStates(q: Q, businessId: string, personId: string): Promise<Map<string, TopicState>> {
  const rows = await q
    .selectFrom('consent_state')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .execute();
  return new Map(
    rows.map((r) => [
      r.topic_id,
      { status: r.status as ConsentStatus, decidedAt: Number(r.decided_at), eventId: r.event_id },
    ]),
  );
}

/**
 * The newest "stop everything" of this person: an opt-in the person made before it cannot apply to a topic
 * that had no state yet (for example one created after the STOP).
 */
export async function lastStopAll(
  q: Q,
  businessId: string,
  personId: string,
): Promise<{ at: number; eventId: string } | null> {
  const r = await q
    .selectFrom('consent_events')
    .select(['id', sql<number>`${sql.raw(STOP_KEY_SQL)}`.as('k')])
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .where(residual('type', 'opt_out'))
    .where(residual('scope', 'all'))
    .orderBy('k', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? { at: Number(r.k), eventId: r.id } : null;
}

/** orderKey of an opt-out in SQL (both dialects): the last millisecond its precision allows. */
export const STOP_KEY_SQL = 'occurred_at + COALESCE(occurred_precision_ms, 1) - 1';

/** people.cond_key once `row` is appended: the newest order key among the person's conditional events. */
export function condKeyAfter(person: Pick<PersonRow, 'cond_key'>, row: EventRow): number | null {
  const cur = person.cond_key === null || person.cond_key === undefined ? null : Number(person.cond_key);
  const ev = timedOf(row);
  if (!isConditional(ev)) return cur;
  return cur === null ? orderKey(ev) : Math.max(cur, orderKey(ev));
}

/** The projection's view of a stored event. */
export const timedOf = (
  r: Pick<EventRow, 'id' | 'type' | 'occurred_at' | 'occurred_precision_ms' | 'scope'>,
): TimedEvent => ({
  id: r.id,
  type: r.type,
  occurredAt: Number(r.occurred_at),
  precisionMs: r.occurred_precision_ms === null ? null : Number(r.occurred_precision_ms),
  scope: r.scope,
});

export const historyOf = (
  r: Pick<EventRow, 'id' | 'type' | 'occurred_at' | 'occurred_precision_ms' | 'scope' | 'topic_keys' | 'action'>,
): HistoryEvent => ({
  ...timedOf(r),
  topicKeys: JSON.parse(r.topic_keys) as string[],
  action: r.action,
});

/** Every event of the person, for a replay (few per person; read only when stepping would not be exact). */
export async function loadHistory(q: Q, businessId: string, personId: string): Promise<HistoryEvent[]> {
  const rows = await q
    .selectFrom('consent_events')
    .select(['id', 'type', 'occurred_at', 'occurred_precision_ms', 'scope', 'topic_keys', 'action'])
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .execute();
  return rows.map(historyOf);
}

import { projectionOf, type Projected } from '../../domain/consent/projection.js';

/**
 * Projects one appended event onto the state of each topic it touches, by stepping, or by replaying the
 * person's events when stepping would not be exact. `person` is the row appendEvent just chained the event to (its
 * cond_key is the one written). Returns the states written (one statement for them all).
 */
export async function projectEvent(
  q: Q,
  person: Pick<PersonRow, 'business_id' | 'id' | 'cond_key'>,
  topics: Topic[],
  ev: TimedEvent,
  opts: { doubleOptIn: boolean; now: number },
): Promise<Projected[]> {
  const { business_id: businessId, id: personId } = person;
  const current = await getStates(q, businessId, personId);
  const stop = ev.type === 'opt_in' ? await lastStopAll(q, businessId, personId) : null;
  const condKey = person.cond_key === null || person.cond_key === undefined ? null : Number(person.cond_key);
  const history = needsReplay(condKey, ev) ? await loadHistory(q, businessId, personId) : null;
  const changed = projectionOf(current, stop, topics, ev, opts.doubleOptIn, { condKey, history });
  if (changed.length === 0) return changed;
  // One row per topic (a statement may not update a row twice), the last projection of a topic winning.
  const byTopic = new Map(changed.map((c) => [c.topic.id, c]));
  await q
    .insertInto('consent_state')
    .values(
      [...byTopic.values()].map(({ topic: t, state: next }) => ({
        business_id: businessId,
        person_id: personId,
        topic_id: t.id,
        status: next.status,
        decided_at: next.decidedAt,
        event_id: next.eventId,
        updated_at: opts.now,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['business_id', 'person_id', 'topic_id']).doUpdateSet((eb) => ({
        status: eb.ref('excluded.status'),
        decided_at: eb.ref('excluded.decided_at'),
        event_id: eb.ref('excluded.event_id'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
  return changed;
}
