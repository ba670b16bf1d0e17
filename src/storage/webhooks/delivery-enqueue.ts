import { CompiledQuery, SqliteAdapter, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import {
  ledgerEventPayload,
  reviewItemPayload,
  webhookTypeOfLedgerEvent,
  type LedgerEventForWebhook,
  type WebhookEventType,
} from '../../domain/webhooks/events.js';

/** A placeholder for one bound value with its SQL type (`$n::type` on PostgreSQL, `CAST(? AS type)` on SQLite). */
export type Placeholder = (value: unknown, type: 'text' | 'bigint') => string;

export interface DeliveryToEnqueue {
  businessId: string;
  sourceId: string;
  personId: string | null;
  type: WebhookEventType;
  payload: string;
  now: number;
}

/**
 * The one statement that enqueues a delivery for every enabled endpoint of the business subscribed to the type:
 * INSERT … SELECT over webhook_endpoints by its primary-key prefix, so a business with no endpoint pays one
 * index probe, and an endpoint created or disabled by another process is seen as soon as it commits. `from`
 * adds a relation to the FROM list (the opt-in's one-statement write joins its person CTE, so nothing is
 * enqueued when that write is not as planned). Delivery ids are `<source id>.<endpoint id>`: one per pair.
 */
export function enqueueSql(ph: Placeholder, d: DeliveryToEnqueue, from = ''): string {
  // Placeholders are made in text order (SQLite's are positional).
  return `INSERT INTO webhook_deliveries (business_id, id, endpoint_id, event_type, source_id, person_id, payload, status, attempts, next_attempt_at, created_at)
    SELECT webhook_endpoints.business_id, ${ph(`${d.sourceId}.`, 'text')} || webhook_endpoints.id, webhook_endpoints.id, ${ph(d.type, 'text')},
      ${ph(d.sourceId, 'text')}, ${ph(d.personId, 'text')}, ${ph(d.payload, 'text')}, 'pending', 0, ${ph(d.now, 'bigint')}, ${ph(d.now, 'bigint')}
    FROM webhook_endpoints${from}
    WHERE webhook_endpoints.business_id = ${ph(d.businessId, 'text')} AND webhook_endpoints.enabled = 1
      AND webhook_endpoints.event_types LIKE ${ph(`%"${d.type}"%`, 'text')}
    ON CONFLICT DO NOTHING`;
}

/** The delivery a ledger event causes, or null for a ledger type no webhook reports. */
export function deliveryOfLedgerEvent(e: LedgerEventForWebhook): DeliveryToEnqueue | null {
  const type = webhookTypeOfLedgerEvent(e.type, e.action);
  if (!type) return null;
  return {
    businessId: e.business_id,
    sourceId: e.id,
    personId: e.person_id,
    type,
    payload: ledgerEventPayload(e, type),
    now: Number(e.recorded_at),
  };
}

export function deliveryOfReviewItem(r: {
  businessId: string;
  id: string;
  personId: string | null;
  reason: string;
  createdAt: number;
}): DeliveryToEnqueue {
  return {
    businessId: r.businessId,
    sourceId: r.id,
    personId: r.personId,
    type: 'review_item',
    payload: reviewItemPayload(r),
    now: r.createdAt,
  };
}

/** Runs the enqueue on a Kysely connection or transaction (the caller's: same transaction as the cause). */
export async function enqueueDeliveries(q: Kysely<DB>, d: DeliveryToEnqueue | null): Promise<void> {
  if (!d) return;
  const sqlite = q.getExecutor().adapter instanceof SqliteAdapter;
  const values: unknown[] = [];
  const ph: Placeholder = (v, t) => (values.push(v), sqlite ? `CAST(? AS ${t})` : `$${values.length}::${t}`);
  await q.executeQuery(CompiledQuery.raw(enqueueSql(ph, d), values));
}

/** SQLite's prepared-statement form (positional `?`) for the synchronous opt-in path; values in order. */
export function enqueueSqliteStatement(d: DeliveryToEnqueue): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const text = enqueueSql((v, t) => (values.push(v), `CAST(? AS ${t})`), d);
  return { text, values };
}
