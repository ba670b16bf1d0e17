import type { BusinessPolicy, Category, FrequencyCap, QuietHours } from './policy.js';
import { quietHoursAt, type QuietResult } from './quiet-hours.js';
import type { ConsentStatus } from '../consent/model.js';

/**
 * The send gate: may this business send this notification to this person now? A pure function of the facts;
 * the storage layer gathers them. Every reason that applies is returned, each with the consent events it
 * rests on, so a decision can always be explained.
 */
export const GATE_REASONS = {
  UNKNOWN_TOPIC: 'The topic does not exist for this business (or is archived).',
  CATEGORY_NOT_ALLOWED: "The topic's category is not allowed by the business's policy.",
  CONTACT_ERASED: 'The person was erased; their number stays suppressed.',
  NO_CONSENT: 'The person has not opted in to this topic.',
  OPTED_OUT: 'The person opted out of this topic.',
  CONFIRMATION_PENDING: 'The person opted in but has not yet confirmed (double opt-in).',
  UNREACHABLE: 'The provider reported that the number is not on WhatsApp.',
  FREQUENCY_CAPPED: 'The frequency cap for this person is reached.',
  QUIET_HOURS: "It is within quiet hours in the person's time zone: the message is deferred, not dropped.",
  SPACING: 'The last notification to this person was too recent: the message is deferred, not dropped.',
  CONSENT_EXPIRED:
    'The consent expired (a double opt-in never confirmed in time, or past its validity): the person must opt in again.',
  TEMPLATE_PAUSED: 'The template is paused for this business (by Meta, or by the opt-out guard) until staff resume it.',
} as const;
export type GateReasonCode = keyof typeof GATE_REASONS;

/** Reasons that postpone a message instead of refusing it. */
const DEFERRING: ReadonlySet<GateReasonCode> = new Set(['QUIET_HOURS', 'SPACING']);

export interface GateReason {
  code: GateReasonCode;
  message: string;
  eventIds: string[];
  until?: number;
  /** QUIET_HOURS: the zone the recipient's local time was read in, and the public holiday if one applied. */
  timezone?: string;
  holiday?: { country: string; date: string; name: string };
}

export interface GateFacts {
  now: number;
  policy: BusinessPolicy;
  topic: { id: string; key: string; category: Category; archived: boolean } | null;
  /** `timezone`: chosen or from the number (null: the business's default); `country`: of the number (holidays). */
  person: {
    id: string;
    erased: boolean;
    unreachable: boolean;
    timezone: string | null;
    country?: string | null;
  } | null;
  suppressed: boolean;
  state: { status: ConsentStatus; eventId: string } | null;
  /**
   * The notifications to this person that count against the caps, built by `countedSends` from `CapRow`s at
   * enqueue and at claim alike: sent within the longest window, in flight (claimed, `sending`: at `now`), and
   * queued ahead of the message being decided (`queued`, at `now`). Spacing looks only at those not queued.
   */
  recentSends: { topicKey: string | null; sentAt: number; queued?: boolean }[];
  /** The notification's template when known (absent: not judged), with whether it is paused for the business. */
  template?: { name: string; paused: boolean } | null;
}

/** A notification message as the fact loaders read it (`storage/dispatch/gate-facts.ts`), one shape for both points. */
export interface CapRow {
  id?: string;
  topicId: string | null;
  /** When it left; null while queued or in flight. */
  sentAt: number | null;
  /** Missing means sent (rows that predate the status, or callers that only list sends). */
  status?: string;
  createdAt?: number;
}

/** The message being decided: null at enqueue (it does not exist yet, every queued message is ahead of it). */
export type CapSelf = { id: string; createdAt: number } | null;

const ahead = (r: CapRow, self: CapSelf) =>
  self === null ||
  r.createdAt === undefined ||
  r.id === undefined ||
  r.createdAt < self.createdAt ||
  (r.createdAt === self.createdAt && r.id < self.id);

/**
 * THE rule of what counts against the caps, the same at enqueue and at claim: sent messages at their send time,
 * in-flight ones at `now`, queued ones at `now` when they are ahead of the message decided (created before it),
 * never the message itself. So with a 3/day cap the 4th notification is refused when it is queued, and the
 * three accepted are never refused later for the cap (none of them sees more than two others ahead).
 */
export function countedSends(
  rows: readonly CapRow[],
  topicKeyOf: (topicId: string) => string | null,
  self: CapSelf,
  now: number,
): GateFacts['recentSends'] {
  const out: GateFacts['recentSends'] = [];
  for (const r of rows) {
    if (self && r.id === self.id) continue;
    const topicKey = r.topicId ? topicKeyOf(r.topicId) : null;
    if (r.sentAt !== null) out.push({ topicKey, sentAt: r.sentAt });
    else if (r.status === 'sending') out.push({ topicKey, sentAt: now });
    else if (r.status === 'queued' && ahead(r, self)) out.push({ topicKey, sentAt: now, queued: true });
  }
  return out.sort((a, b) => b.sentAt - a.sentAt);
}

/**
 * A cap's window in whole milliseconds. `windowHours` may be fractional (0.0123456 h is 44 444.16 ms), and
 * the bound is a query parameter compared with integer times (PostgreSQL refuses a fractional bigint). Rounding
 * up changes nothing for integer times: `t > now - 44 444.16` holds exactly when `t > now - 44 445`.
 */
export const capWindowMs = (cap: Pick<FrequencyCap, 'windowHours'>): number => Math.ceil(cap.windowHours * 3_600_000);

/** How far back the caps and the spacing look, in whole ms; per policy object (kept while the policy is unchanged). */
const windows = new WeakMap<BusinessPolicy, number>();
export function gateWindowMs(policy: BusinessPolicy): number {
  let w = windows.get(policy);
  if (w === undefined) {
    w = Math.ceil(Math.max(0, ...policy.frequencyCaps.map(capWindowMs), policy.minSpacingSeconds * 1000));
    windows.set(policy, w);
  }
  return w;
}

export type GateOutcome = 'allow' | 'defer' | 'refuse';

export interface GateDecision {
  outcome: GateOutcome;
  allowed: boolean;
  reasons: GateReason[];
  notBefore: number | null;
}

const reason = (code: GateReasonCode, eventIds: string[] = [], extra = ''): GateReason => ({
  code,
  message: extra ? `${GATE_REASONS[code]} ${extra}` : GATE_REASONS[code],
  eventIds,
});

export function decide(f: GateFacts): GateDecision {
  const reasons: GateReason[] = [];
  if (!f.topic || f.topic.archived) reasons.push(reason('UNKNOWN_TOPIC'));
  else if (!f.policy.allowedCategories.includes(f.topic.category)) {
    reasons.push(reason('CATEGORY_NOT_ALLOWED', [], `(category: ${f.topic.category})`));
  }
  if (f.suppressed || f.person?.erased) reasons.push(reason('CONTACT_ERASED'));
  else if (!f.state) reasons.push(reason('NO_CONSENT'));
  else if (f.state.status === 'opted_out') reasons.push(reason('OPTED_OUT', [f.state.eventId]));
  else if (f.state.status === 'pending') reasons.push(reason('CONFIRMATION_PENDING', [f.state.eventId]));
  else if (f.state.status === 'expired') reasons.push(reason('CONSENT_EXPIRED', [f.state.eventId]));
  if (f.template?.paused) reasons.push(reason('TEMPLATE_PAUSED', [], `(${f.template.name})`));
  if (f.person?.unreachable) reasons.push(reason('UNREACHABLE'));

  for (const cap of f.policy.frequencyCaps) {
    if (cap.topic !== '*' && cap.topic !== f.topic?.key) continue;
    const since = f.now - capWindowMs(cap);
    const n = f.recentSends.filter((s) => s.sentAt > since && (cap.topic === '*' || s.topicKey === cap.topic)).length;
    if (n >= cap.max) {
      reasons.push(
        reason(
          'FREQUENCY_CAPPED',
          [],
          `(${n} of ${cap.max} in ${cap.windowHours} h${cap.topic === '*' ? '' : ` for ${cap.topic}`})`,
        ),
      );
    }
  }

  if (f.policy.minSpacingSeconds > 0) {
    // Only what has left or is leaving: two queued messages must not hold each other back for ever.
    let last = -Infinity;
    for (const s of f.recentSends) if (!s.queued && s.sentAt > last) last = s.sentAt;
    const next = last + f.policy.minSpacingSeconds * 1000;
    if (next > f.now) reasons.push({ ...reason('SPACING'), until: next });
  }
  if (f.policy.quietHours) {
    const q = quietHoursAt(f.now, f.policy.quietHours, f.person);
    if (q) reasons.push(quietReason(q, f.policy.quietHours));
  }

  const refusing = reasons.filter((r) => !DEFERRING.has(r.code));
  if (refusing.length) return { outcome: 'refuse', allowed: false, reasons, notBefore: null };
  if (reasons.length) {
    const notBefore = Math.max(...reasons.map((r) => r.until ?? 0));
    return { outcome: 'defer', allowed: false, reasons, notBefore };
  }
  return { outcome: 'allow', allowed: true, reasons, notBefore: null };
}

// The local-time helpers live with the quiet-hours rule; kept importable from here.
export { localMinutes, quietUntil } from './quiet-hours.js';

/** QUIET_HOURS names the zone it read the time in (and whose it is) and the holiday that held the message. */
function quietReason(r: QuietResult, q: QuietHours): GateReason {
  const whose = r.zoneOf === 'person' ? "the recipient's zone" : "the business's default zone";
  const day = r.holiday ? `public holiday in ${r.holiday.country}: ${r.holiday.name}, ${r.holiday.date}; ` : '';
  return {
    ...reason('QUIET_HOURS', [], `(${day}${q.start}–${q.end} ${r.timezone}, ${whose})`),
    until: r.until,
    timezone: r.timezone,
    ...(r.holiday ? { holiday: r.holiday } : {}),
  };
}
