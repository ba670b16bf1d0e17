/**
 * The consent model: event kinds, how one event changes the state of one (person, topic), and the canonical
 * form that the hash chain covers.
 */
export const EVENT_TYPES = ['opt_in', 'opt_out', 'confirmed', 'confirmation_sent', 'confirmation_failed', 'erased'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CHANNELS = ['whatsapp', 'web', 'app', 'sms', 'email', 'ivr', 'api', 'import', 'meta', 'system'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * What the person did. Opt-ins need one of the active actions; inference ("they wrote to us") is never one.
 */
export const ACTIVE_ACTIONS = [
  'checked_box', 'submitted_form', 'sent_keyword', 'tapped_button', 'selected_list_item', 'pressed_digit',
  'clicked_link', 'toggled_setting', 'signed_paper', 'spoke_consent',
] as const;
export type ActiveAction = (typeof ACTIVE_ACTIONS)[number];
export const SYSTEM_ACTIONS = ['provider_report', 'staff_request', 'erasure_request', 'message_outcome'] as const;

export type Scope = 'topics' | 'all' | 'marketing';
export type ConsentStatus = 'opted_in' | 'pending' | 'opted_out';

export interface TopicState {
  status: ConsentStatus;
  decidedAt: number;
  eventId: string;
}

/**
 * The state after an event, or null if the event does not change it. Ordered by when the person acted:
 * a late-arriving older event never overrides a newer one, and on a tie an opt-out wins.
 */
export function nextState(
  current: TopicState | undefined,
  ev: { id: string; type: EventType; occurredAt: number },
  doubleOptIn: boolean,
): TopicState | null {
  let status: ConsentStatus;
  switch (ev.type) {
    case 'opt_in':
      status = doubleOptIn ? 'pending' : 'opted_in';
      break;
    case 'confirmed':
      // Confirming only completes a pending opt-in; it never revives an opt-out made after it.
      if (!current || current.status !== 'pending') return null;
      status = 'opted_in';
      break;
    case 'opt_out':
      status = 'opted_out';
      break;
    default:
      return null;
  }
  if (current) {
    if (ev.occurredAt < current.decidedAt) return null;
    if (ev.occurredAt === current.decidedAt && status !== 'opted_out') return null;
    if (current.status === status && ev.type !== 'confirmed') return null; // nothing changes: keep the original decision
  }
  return { status, decidedAt: ev.occurredAt, eventId: ev.id };
}

export interface ChainedEventFields {
  business_id: string;
  id: string;
  person_id: string;
  seq: number;
  type: string;
  scope: string;
  topic_keys: string;
  channel: string;
  action: string;
  text_hash: string | null;
  occurred_at: number;
  recorded_at: number;
  source_ref: string | null;
  actor: string;
  evidence_hash: string;
  prev_hash: string | null;
}

/** The exact string the event hash is computed over: fixed key order, so any edit changes it. */
export function canonicalEvent(e: ChainedEventFields): string {
  return JSON.stringify([
    e.business_id, e.id, e.person_id, e.seq, e.type, e.scope, e.topic_keys, e.channel, e.action, e.text_hash,
    e.occurred_at, e.recorded_at, e.source_ref, e.actor, e.evidence_hash, e.prev_hash,
  ]);
}

/** Stable JSON (sorted keys) for hashing evidence objects. */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}
