/**
 * Outbound consent webhooks: the event types an endpoint can subscribe to, which ledger events map to them,
 * and the payload each delivery carries (documented in docs/webhooks-out.md). Pure: no I/O.
 */
export const WEBHOOK_EVENT_TYPES = [
  'opt_in',
  'opt_out',
  'confirmation',
  'erasure',
  'identity_change',
  'review_item',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The webhook type a ledger event is reported as. */
export function webhookTypeOfLedgerEvent(type: string, action: string): WebhookEventType | null {
  switch (type) {
    case 'opt_in':
      // change-number records the moved consent as an opt-in reported by the provider.
      return action === 'provider_report' ? 'identity_change' : 'opt_in';
    case 'opt_out':
      return 'opt_out';
    case 'confirmed':
    case 'confirmation_sent':
    case 'confirmation_failed':
      return 'confirmation';
    case 'erased':
      return 'erasure';
    default:
      return null;
  }
}

export interface LedgerEventForWebhook {
  business_id: string;
  id: string;
  person_id: string;
  type: string;
  scope: string;
  topic_keys: string;
  channel: string;
  action: string;
  occurred_at: number;
  recorded_at: number;
}

const iso = (ms: number) => new Date(Number(ms)).toISOString();

/**
 * The body of a ledger event's delivery, without the number: the worker adds `data.phone` (E.164) at send time
 * only for endpoints that opted in (`includePhone`), and never once the person is erased.
 */
export function ledgerEventPayload(e: LedgerEventForWebhook, type: WebhookEventType): string {
  let topics: string[] = [];
  try {
    topics = JSON.parse(e.topic_keys) as string[];
  } catch {
    /* stored by us as JSON */
  }
  return JSON.stringify({
    type: `consent.${type}`,
    timestamp: iso(e.recorded_at),
    data: {
      eventId: e.id,
      businessId: e.business_id,
      personId: e.person_id,
      ledgerType: e.type,
      scope: e.scope,
      topics,
      channel: e.channel,
      action: e.action,
      occurredAt: iso(e.occurred_at),
      recordedAt: iso(e.recorded_at),
    },
  });
}

export function reviewItemPayload(r: {
  businessId: string;
  id: string;
  personId: string | null;
  reason: string;
  createdAt: number;
}): string {
  return JSON.stringify({
    type: 'consent.review_item',
    timestamp: iso(r.createdAt),
    data: {
      reviewItemId: r.id,
      businessId: r.businessId,
      personId: r.personId,
      reason: r.reason,
      createdAt: iso(r.createdAt),
    },
  });
}

/** Retry schedule: exponential from 30 s, capped at 6 h, with ±20 % jitter; gives up after 3 days. */
export const RETRY_WINDOW_MS = 3 * 24 * 3600_000;
export const DISABLE_AFTER_FAILURES = 50;
export function nextRetryDelayMs(attempts: number, random: number): number {
  const base = Math.min(6 * 3600_000, 30_000 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * random));
}
