import { randomBytes } from 'node:crypto';
import type { ServiceContext } from '../context.js';
import { AppError } from '../../domain/errors.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../domain/webhooks/events.js';
import { newId } from '../../lib/ids.js';
import {
  deleteEndpoint,
  getEndpoint,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  requeueDeliveries,
  updateEndpoint,
  type DeliveryRow,
  type EndpointRow,
} from '../../storage/webhooks/webhook-store.js';
import { refuseTarget } from './check-target.js';

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: WebhookEventType[];
  includePhone: boolean;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: number | null;
  consecutiveFailures: number;
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}
const ms = (v: number | null) => (v === null ? null : Number(v));
export const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
  id: r.id,
  url: r.url,
  description: r.description,
  eventTypes: JSON.parse(r.event_types) as WebhookEventType[],
  includePhone: !!r.include_phone,
  enabled: !!r.enabled,
  disabledReason: r.disabled_reason,
  disabledAt: ms(r.disabled_at),
  consecutiveFailures: Number(r.consecutive_failures),
  failingSince: ms(r.failing_since),
  createdAt: ms(r.created_at)!,
  updatedAt: ms(r.updated_at)!,
});
export const toDelivery = (d: DeliveryRow) => ({
  id: d.id,
  endpointId: d.endpoint_id,
  eventType: d.event_type,
  sourceId: d.source_id,
  status: d.status,
  attempts: Number(d.attempts),
  nextAttemptAt: d.status === 'pending' ? ms(d.next_attempt_at) : null,
  lastAttemptAt: ms(d.last_attempt_at),
  lastStatus: d.last_status === null ? null : Number(d.last_status),
  lastError: d.last_error,
  createdAt: ms(d.created_at)!,
  deliveredAt: ms(d.delivered_at),
});

export interface EndpointInput {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
  enabled?: boolean;
  includePhone?: boolean;
}
export interface EndpointOptions {
  allowPrivate: boolean;
}

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

async function checkInput(i: EndpointInput, o: EndpointOptions): Promise<void> {
  if (i.url !== undefined) {
    const why = await refuseTarget(i.url, o.allowPrivate);
    if (why)
      throw new AppError('WEBHOOK_TARGET_REFUSED', `The webhook URL is refused: ${why}.`, [
        { field: 'url', message: why },
      ]);
  }
  if (i.eventTypes !== undefined) {
    const bad = i.eventTypes.filter((t) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(t));
    if (bad.length > 0 || i.eventTypes.length === 0) {
      throw new AppError('VALIDATION_FAILED', 'eventTypes must list at least one known type.', [
        { field: 'eventTypes', message: `one or more of ${WEBHOOK_EVENT_TYPES.join(', ')}` },
      ]);
    }
  }
}

export async function createEndpoint(
  ctx: ServiceContext,
  businessId: string,
  i: EndpointInput & { url: string; eventTypes: string[] },
  o: EndpointOptions,
) {
  await checkInput(i, o);
  const now = ctx.clock.now();
  const secret = newSecret();
  const row: EndpointRow = {
    business_id: businessId,
    id: newId('whe', now),
    url: i.url,
    description: i.description ?? null,
    event_types: JSON.stringify([...new Set(i.eventTypes)]),
    include_phone: i.includePhone ? 1 : 0,
    secret_sealed: ctx.keyring.encrypt(secret),
    enabled: i.enabled === false ? 0 : 1,
    disabled_reason: i.enabled === false ? 'disabled by the business' : null,
    disabled_at: i.enabled === false ? now : null,
    consecutive_failures: 0,
    failing_since: null,
    created_at: now,
    updated_at: now,
  };
  await insertEndpoint(ctx.database.db, row);
  return { ...toEndpoint(row), secret };
}

async function mustGet(ctx: ServiceContext, businessId: string, id: string): Promise<EndpointRow> {
  const r = await getEndpoint(ctx.database.db, businessId, id);
  if (!r) throw new AppError('NOT_FOUND', 'No such webhook endpoint.');
  return r;
}

export const getWebhookEndpoint = async (ctx: ServiceContext, businessId: string, id: string) =>
  toEndpoint(await mustGet(ctx, businessId, id));
export const listWebhookEndpoints = async (ctx: ServiceContext, businessId: string) =>
  (await listEndpoints(ctx.database.db, businessId)).map(toEndpoint);

export async function updateWebhookEndpoint(
  ctx: ServiceContext,
  businessId: string,
  id: string,
  i: EndpointInput,
  o: EndpointOptions,
) {
  await mustGet(ctx, businessId, id);
  await checkInput(i, o);
  const now = ctx.clock.now();
  await updateEndpoint(ctx.database.db, businessId, id, {
    updated_at: now,
    ...(i.url !== undefined ? { url: i.url } : {}),
    ...(i.description !== undefined ? { description: i.description } : {}),
    ...(i.eventTypes !== undefined ? { event_types: JSON.stringify([...new Set(i.eventTypes)]) } : {}),
    ...(i.includePhone !== undefined ? { include_phone: i.includePhone ? 1 : 0 } : {}),
    ...(i.enabled === true
      ? { enabled: 1, disabled_reason: null, disabled_at: null, consecutive_failures: 0, failing_since: null }
      : {}),
    ...(i.enabled === false ? { enabled: 0, disabled_reason: 'disabled by the business', disabled_at: now } : {}),
  });
  return getWebhookEndpoint(ctx, businessId, id);
}

export async function rotateWebhookSecret(ctx: ServiceContext, businessId: string, id: string) {
  await mustGet(ctx, businessId, id);
  const secret = newSecret();
  await updateEndpoint(ctx.database.db, businessId, id, {
    secret_sealed: ctx.keyring.encrypt(secret),
    updated_at: ctx.clock.now(),
  });
  return { ...(await getWebhookEndpoint(ctx, businessId, id)), secret };
}

export async function deleteWebhookEndpoint(ctx: ServiceContext, businessId: string, id: string): Promise<void> {
  await mustGet(ctx, businessId, id);
  await ctx.database.transaction((trx) => deleteEndpoint(trx, businessId, id));
}

export async function listWebhookDeliveries(
  ctx: ServiceContext,
  businessId: string,
  id: string,
  limit: number,
  before?: string,
) {
  await mustGet(ctx, businessId, id);
  return (await listDeliveries(ctx.database.db, businessId, id, limit, before)).map(toDelivery);
}

/**
 * Replays one delivery (`deliveryId`) or every delivery created in [from, to); same webhook-id, so receivers dedupe.
 */
export async function replayWebhookDeliveries(
  ctx: ServiceContext,
  businessId: string,
  id: string,
  sel: { deliveryId?: string; from?: string; to?: string },
) {
  await mustGet(ctx, businessId, id);
  const at = (s: string | undefined, field: string) => {
    if (s === undefined) return undefined;
    const t = Date.parse(s);
    if (Number.isNaN(t))
      throw new AppError('VALIDATION_FAILED', `${field} is not a date-time.`, [
        { field, message: 'an ISO 8601 date-time' },
      ]);
    return t;
  };
  if (!sel.deliveryId && sel.from === undefined) {
    throw new AppError('VALIDATION_FAILED', 'Give deliveryId, or from (and optionally to).', [
      { field: 'deliveryId', message: 'or from/to' },
    ]);
  }
  const n = await requeueDeliveries(
    ctx.database.db,
    businessId,
    id,
    { id: sel.deliveryId, from: at(sel.from, 'from'), to: at(sel.to, 'to') },
    ctx.clock.now(),
  );
  if (sel.deliveryId && n === 0) throw new AppError('NOT_FOUND', 'No such delivery for this endpoint.');
  return { requeued: n };
}
