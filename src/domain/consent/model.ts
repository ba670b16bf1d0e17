/**
 * The consent model: event kinds, how one event changes the state of one (person, topic), and the canonical
 * form that the hash chain covers.
 */
export const EVENT_TYPES = [
  'opt_in',
  'opt_out',
  'confirmed',
  'confirmation_sent',
  'confirmation_failed',
  'erased',
  'expired',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CHANNELS = ['whatsapp', 'web', 'app', 'sms', 'email', 'ivr', 'api', 'import', 'meta', 'system'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * What the person did. Opt-ins need one of the active actions; inference ("they wrote to us") is never one.
 */
export const ACTIVE_ACTIONS = [
  'checked_box',
  'submitted_form',
  'sent_keyword',
  'tapped_button',
  'selected_list_item',
  'pressed_digit',
  'clicked_link',
  'toggled_setting',
  'signed_paper',
  'spoke_consent',
] as const;
export type ActiveAction = (typeof ACTIVE_ACTIONS)[number];
export const SYSTEM_ACTIONS = ['provider_report', 'staff_request', 'erasure_request', 'message_outcome'] as const;
/** Why consent expired (an `expired` event): never an opt-out, never an action of the person. */
export const EXPIRY_ACTIONS = ['pending_expired', 'validity_lapsed'] as const;
export type ExpiryAction = (typeof EXPIRY_ACTIONS)[number];

/**
 * 'restore' is START after STOP: an opt-in whose topic list names the candidates, each restored only if the
 * projection finds it stopped by the person's own STOP and agreed to just before (see replayStates).
 */
export type Scope = 'topics' | 'all' | 'marketing' | 'restore' | `expiry:${string}`;
/** 'expired': a pending double opt-in that was never confirmed in time, or a consent past its validity. */
export type ConsentStatus = 'opted_in' | 'pending' | 'opted_out' | 'expired';

/**
 * An expiry names the decision it ends in its scope (`expiry:<event id>`, covered by the hash), so it ends that
 * decision only: a newer opt-in or Confirm, even one that arrives after the expiry was recorded, is not expired.
 */
export const expiryScope = (eventId: string): Scope => `expiry:${eventId}`;
export const expiryTarget = (ev: Pick<TimedEvent, 'type' | 'scope'>): string | null =>
  ev.type === 'expired' && typeof ev.scope === 'string' && ev.scope.startsWith('expiry:') ? ev.scope.slice(7) : null;
/** What an expiry may end: the state decided by its target event, while agreed (pending or opted in). */
const expires = (s: TopicState | undefined, ev: TimedEvent, key: number) =>
  !!s && (s.status === 'pending' || s.status === 'opted_in') && s.eventId === expiryTarget(ev) && key >= s.decidedAt;

export interface TopicState {
  status: ConsentStatus;
  /** The order key (orderKey) of the event that decides this state: what a later-arriving event is compared with. */
  decidedAt: number;
  eventId: string;
}

/**
 * The precision of an event's time, in ms: the width of the interval [occurredAt, occurredAt + precision) in
 * which the person acted. Meta's webhooks give whole seconds; the API, the pages and receipt-stamped events
 * (Twilio SMS and voice carry no timestamp, so the webhook's arrival is recorded) are exact to the millisecond.
 */
export const EXACT_MS = 1;
export const SECONDS_MS = 1000;

/** What the projection needs of one event. precisionMs null or absent: exact (and every event before 0006). */
export interface TimedEvent {
  id: string;
  type: EventType | string;
  occurredAt: number;
  precisionMs?: number | null;
  scope?: Scope | string;
}

/**
 * Where an event sorts among the person's events, so that within the precision of the two times an opt-out
 * wins: an opt-out counts from the LAST moment its time allows, anything else from the FIRST. Two intervals that
 * overlap therefore always put the opt-out last. Ties of key are broken by kind (opt-out last), then id.
 */
export function orderKey(ev: TimedEvent): number {
  const width = Math.max(1, Math.floor(Number(ev.precisionMs ?? EXACT_MS)));
  return ev.type === 'opt_out' ? ev.occurredAt + width - 1 : ev.occurredAt;
}

const RANK: Record<string, number> = { opt_in: 0, confirmed: 1, expired: 1.5, opt_out: 2 };
/** The canonical order of a person's events: a function of the events, never of when they arrived. */
export function compareEvents(a: TimedEvent, b: TimedEvent): number {
  return (
    orderKey(a) - orderKey(b) || (RANK[a.type] ?? 3) - (RANK[b.type] ?? 3) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * Conditional events: what they do depends on the state just before them (Confirm completes a pending opt-in,
 * START restores what the STOP took). An event that sorts before one of them can change its effect, so the
 * projection replays instead of stepping (needsReplay). people.cond_key keeps the newest such key.
 */
export const isConditional = (ev: TimedEvent) =>
  ev.type === 'confirmed' || ev.type === 'expired' || (ev.type === 'opt_in' && ev.scope === 'restore');

/** True when stepping the current state with `ev` could differ from replaying the whole set. */
export const needsReplay = (condKey: number | null | undefined, ev: TimedEvent) =>
  (ev.type === 'opt_in' && ev.scope === 'restore') ||
  (condKey !== null && condKey !== undefined && Number(condKey) >= orderKey(ev));

/**
 * The state after one unconditional event or a Confirm, stepping from the current state, or null when there
 * is nothing to write. Exact (equal to replayStates over the whole set) whenever needsReplay is false:
 * - an event sorting before the deciding one changes nothing (a late older event never overrides a newer one);
 * - an opt-in or opt-out after it decides anew, even with the same status, so the state always holds the
 *   newest decisive key (otherwise a late STOP between two opt-ins would win);
 * - on equal keys an opt-out wins;
 * - Confirm completes a pending opt-in and never revives an opt-out made before it.
 * - an expiry ends only the decision it names (expiryScope), and only while that decision still holds.
 * The caller tells a change from a newer decision of the same status by comparing status.
 */
export function nextState(current: TopicState | undefined, ev: TimedEvent, doubleOptIn: boolean): TopicState | null {
  const key = orderKey(ev);
  switch (ev.type) {
    case 'opt_in':
      if (current && key <= current.decidedAt) return null;
      return { status: doubleOptIn ? 'pending' : 'opted_in', decidedAt: key, eventId: ev.id };
    case 'confirmed':
      if (!current || current.status !== 'pending' || key < current.decidedAt) return null;
      return { status: 'opted_in', decidedAt: key, eventId: ev.id };
    case 'opt_out':
      if (current && (key < current.decidedAt || (key === current.decidedAt && current.status === 'opted_out')))
        return null;
      return { status: 'opted_out', decidedAt: key, eventId: ev.id };
    case 'expired':
      return expires(current, ev, key) ? { status: 'expired', decidedAt: key, eventId: ev.id } : null;
    default:
      return null;
  }
}

/** One event of a person's ledger as the replay reads it. */
export interface HistoryEvent extends TimedEvent {
  topicKeys: string[];
  action: string;
}

interface FoldState extends TopicState {
  /** Decided by the person's own STOP of everything (an active action, not staff or a provider). */
  ownStop: boolean;
  /** Agreed (opted in or pending) just before the run of opt-outs that decided this state. */
  agreedBefore: boolean;
}

const agreed = (s: TopicState | undefined) => s?.status === 'opted_in' || s?.status === 'pending';

/**
 * The state of each topic after the whole set of events, replayed in canonical order (compareEvents), so the
 * result does not depend on the order the events arrived in. A STOP of everything applies to every topic
 * (also one created after it); erasure clears everything; START ('restore') gives back a topic only when the
 * person's own STOP is what holds it and it was agreed to just before that STOP (a second STOP in a row keeps
 * what the first one took); Confirm completes a pending opt-in.
 */
export function replayStates(
  events: HistoryEvent[],
  topicKeys: string[],
  doubleOptIn: boolean,
): Map<string, TopicState | undefined> {
  const out = new Map<string, TopicState | undefined>();
  const sorted = [...events].sort(compareEvents);
  for (const topic of topicKeys) {
    let s: FoldState | undefined;
    for (const ev of sorted) {
      if (ev.type === 'erased') {
        s = undefined;
        continue;
      }
      const applies = ev.type === 'opt_out' && ev.scope === 'all' ? true : ev.topicKeys.includes(topic);
      if (!applies) continue;
      const key = orderKey(ev);
      if (ev.type === 'opt_out') {
        const own = ev.scope === 'all' && (ACTIVE_ACTIONS as readonly string[]).includes(ev.action);
        s = {
          status: 'opted_out',
          decidedAt: key,
          eventId: ev.id,
          ownStop: own,
          agreedBefore: s?.status === 'opted_out' ? s.agreedBefore : agreed(s),
        };
      } else if (ev.type === 'opt_in') {
        if (ev.scope === 'restore' && !(s?.status === 'opted_out' && s.ownStop && s.agreedBefore)) continue;
        s = {
          status: doubleOptIn ? 'pending' : 'opted_in',
          decidedAt: key,
          eventId: ev.id,
          ownStop: false,
          agreedBefore: false,
        };
      } else if (ev.type === 'confirmed') {
        if (s?.status === 'pending')
          s = { status: 'opted_in', decidedAt: key, eventId: ev.id, ownStop: false, agreedBefore: false };
      } else if (ev.type === 'expired') {
        if (expires(s, ev, key))
          s = { status: 'expired', decidedAt: key, eventId: ev.id, ownStop: false, agreedBefore: false };
      }
    }
    out.set(topic, s ? { status: s.status, decidedAt: s.decidedAt, eventId: s.eventId } : undefined);
  }
  return out;
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
  /** Precision of occurred_at in ms (orderKey); null before migration 0006 and for exact times of the import. */
  occurred_precision_ms: number | null;
}

/** The exact string the event hash is computed over: fixed key order, so any edit changes it. */
export function canonicalEvent(e: ChainedEventFields): string {
  const fields: unknown[] = [
    e.business_id,
    e.id,
    e.person_id,
    e.seq,
    e.type,
    e.scope,
    e.topic_keys,
    e.channel,
    e.action,
    e.text_hash,
    e.occurred_at,
    e.recorded_at,
    e.source_ref,
    e.actor,
    e.evidence_hash,
    e.prev_hash,
  ];
  // Appended only when set, so every hash computed before the column existed still verifies.
  if (e.occurred_precision_ms !== null && e.occurred_precision_ms !== undefined)
    fields.push(Number(e.occurred_precision_ms));
  return JSON.stringify(fields);
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
