import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { Database } from '../db.js';

type Q = Kysely<DB>;
export type EndpointRow = DB['webhook_endpoints'];
export type DeliveryRow = DB['webhook_deliveries'];

export async function insertEndpoint(q: Q, row: EndpointRow): Promise<void> {
  await q.insertInto('webhook_endpoints').values(row).execute();
}
export async function getEndpoint(q: Q, businessId: string, id: string): Promise<EndpointRow | null> {
  return (
    (await q
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('id', '=', id)
      .executeTakeFirst()) ?? null
  );
}
export async function listEndpoints(q: Q, businessId: string): Promise<EndpointRow[]> {
  return q.selectFrom('webhook_endpoints').selectAll().where('business_id', '=', businessId).orderBy('id').execute();
}
export async function updateEndpoint(q: Q, businessId: string, id: string, set: Partial<EndpointRow>): Promise<void> {
  await q
    .updateTable('webhook_endpoints')
    .set(set)
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
}
export async function deleteEndpoint(q: Q, businessId: string, id: string): Promise<void> {
  await q
    .deleteFrom('webhook_deliveries')
    .where('business_id', '=', businessId)
    .where('endpoint_id', '=', id)
    .execute();
  await q.deleteFrom('webhook_endpoints').where('business_id', '=', businessId).where('id', '=', id).execute();
}

export async function listDeliveries(
  q: Q,
  businessId: string,
  endpointId: string,
  limit: number,
  before?: string,
): Promise<DeliveryRow[]> {
  let s = q
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('endpoint_id', '=', endpointId);
  if (before) s = s.where('id', '<', before);
  return s.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Puts deliveries back in the queue (replay): one by id, or every one created in [from, to). Returns the count. */
export async function requeueDeliveries(
  q: Q,
  businessId: string,
  endpointId: string,
  sel: { id?: string; from?: number; to?: number },
  now: number,
): Promise<number> {
  let u = q
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now, lease_until: null, attempts: 0 })
    .where('business_id', '=', businessId)
    .where('endpoint_id', '=', endpointId);
  if (sel.id) u = u.where('id', '=', sel.id);
  if (sel.from !== undefined) u = u.where('created_at', '>=', sel.from);
  if (sel.to !== undefined) u = u.where('created_at', '<', sel.to);
  const r = await u.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export interface ClaimedDelivery {
  delivery: DeliveryRow;
  endpoint: EndpointRow;
  phone: string | null;
}

/** How many of the oldest due deliveries are read to find the businesses to claim from. */
const DISCOVERY_ROWS = 500;

/**
 * Claims up to `limit` due deliveries of enabled endpoints by leasing them until `leaseUntil`, business by
 * business: a small read finds the businesses of the oldest due deliveries, then each business's claim is a
 * transaction of its own that filters on business_id (one shard with Citus, docs/scale-out.md). Each business
 * gets an equal share of the batch first, and what is left goes to those that had more. Atomic across
 * processes: FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer. A lease that expires (a crashed
 * worker) makes the row due again; the receiver dedupes by webhook-id, as the spec asks.
 */
export async function claimDue(
  database: Database,
  now: number,
  leaseUntil: number,
  limit: number,
): Promise<ClaimedDelivery[]> {
  const businesses = await businessesWithDueDeliveries(database.db, now, limit);
  const out: ClaimedDelivery[] = [];
  let open = businesses;
  while (open.length > 0 && out.length < limit) {
    const share = Math.max(1, Math.ceil((limit - out.length) / open.length));
    const more: string[] = [];
    for (const b of open) {
      const want = Math.min(share, limit - out.length);
      if (want <= 0) break;
      const { claimed, full } = await claimDueOfBusiness(database, b, now, leaseUntil, want);
      out.push(...claimed);
      if (full) more.push(b);
    }
    open = more;
  }
  return out;
}

const isDue = (now: number) => (eb: ExpressionBuilder<DB, 'webhook_deliveries'>) =>
  eb.and([
    eb('status', '=', 'pending'),
    eb('next_attempt_at', '<=', now),
    eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]),
  ]);

/** The businesses of the oldest due deliveries, oldest first (a read without locks over the due index). */
async function businessesWithDueDeliveries(q: Q, now: number, limit: number): Promise<string[]> {
  const rows = await q
    .selectFrom('webhook_deliveries')
    .select('business_id')
    .where(isDue(now))
    .orderBy('next_attempt_at')
    .limit(Math.max(limit, DISCOVERY_ROWS))
    .execute();
  return [...new Set(rows.map((r) => r.business_id))].slice(0, limit);
}

/** One business's claim: its due rows oldest first, leased in one transaction. `full`: it may have more. */
async function claimDueOfBusiness(
  database: Database,
  businessId: string,
  now: number,
  leaseUntil: number,
  limit: number,
): Promise<{ claimed: ClaimedDelivery[]; full: boolean }> {
  return database.transaction(async (trx) => {
    let s = trx
      .selectFrom('webhook_deliveries')
      .select(['business_id', 'id'])
      .where('business_id', '=', businessId)
      .where(isDue(now))
      .orderBy('next_attempt_at')
      .limit(limit);
    if (database.caps.rowLocks) s = s.forUpdate().skipLocked();
    const due = await s.execute();
    const out: ClaimedDelivery[] = [];
    for (const d of due) {
      await trx
        .updateTable('webhook_deliveries')
        .set({ lease_until: leaseUntil })
        .where('business_id', '=', d.business_id)
        .where('id', '=', d.id)
        .execute();
      const row = await trx
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('business_id', '=', d.business_id)
        .where('id', '=', d.id)
        .executeTakeFirstOrThrow();
      const endpoint = await getEndpoint(trx, d.business_id, row.endpoint_id);
      if (!endpoint || !endpoint.enabled) {
        await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'failed', lease_until: null, last_error: 'endpoint disabled' })
          .where('business_id', '=', d.business_id)
          .where('id', '=', d.id)
          .execute();
        continue;
      }
      let phone: string | null = null;
      if (endpoint.include_phone && row.person_id) {
        const p = await trx
          .selectFrom('people')
          .select('phone_e164')
          .where('business_id', '=', d.business_id)
          .where('id', '=', row.person_id)
          .executeTakeFirst();
        phone = p?.phone_e164 ?? null;
      }
      out.push({ delivery: row, endpoint, phone });
    }
    return { claimed: out, full: due.length === limit };
  });
}

export interface AttemptResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/**
 * Records one attempt and the endpoint's run of failures in one transaction: delivered; or due again at
 * `retryAt`; or given up (`retryAt` null). `disableReason` disables the endpoint (and fails its queue).
 */
export async function recordAttempt(
  database: Database,
  c: ClaimedDelivery,
  r: AttemptResult,
  now: number,
  retryAt: number | null,
  disableReason: string | null,
): Promise<void> {
  const { business_id: b, id } = c.delivery;
  await database.transaction(async (trx) => {
    // The endpoint row first, then its deliveries: every attempt of one endpoint takes its locks in that order, so
    // two attempts finishing together (one of them disabling the endpoint and failing its queue) wait for each
    // other instead of deadlocking on each other's delivery rows.
    if (r.ok) {
      await updateEndpoint(trx, b, c.endpoint.id, { consecutive_failures: 0, failing_since: null });
    } else {
      await trx
        .updateTable('webhook_endpoints')
        .set({
          consecutive_failures: sql`consecutive_failures + 1`,
          failing_since: sql`COALESCE(failing_since, ${now})`,
          ...(disableReason ? { enabled: 0, disabled_reason: disableReason, disabled_at: now, updated_at: now } : {}),
        })
        .where('business_id', '=', b)
        .where('id', '=', c.endpoint.id)
        .execute();
    }
    await trx
      .updateTable('webhook_deliveries')
      .set({
        status: r.ok ? 'delivered' : retryAt === null ? 'failed' : 'pending',
        attempts: sql`attempts + 1`,
        last_attempt_at: now,
        last_status: r.status,
        last_error: r.error,
        lease_until: null,
        ...(r.ok ? { delivered_at: now } : retryAt !== null ? { next_attempt_at: retryAt } : {}),
      })
      .where('business_id', '=', b)
      .where('id', '=', id)
      .execute();
    if (!r.ok && disableReason) {
      await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', last_error: sql`COALESCE(last_error, 'endpoint disabled')` })
        .where('business_id', '=', b)
        .where('endpoint_id', '=', c.endpoint.id)
        .where('status', '=', 'pending')
        .execute();
    }
  });
}
