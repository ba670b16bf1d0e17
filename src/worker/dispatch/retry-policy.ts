/**
 * What to do with the answer Meta gave to one send. Pure: the worker applies the plan (database writes) and
 * the pacing side effects. Meta says to branch on the error `code`, which classifyMetaError does.
 */
import type { SendResult } from '../../channels/whatsapp-cloud/client.js';

/** Tries in all, the first included, before a retryable failure becomes final. */
export const MAX_ATTEMPTS = 10;
/** Full-jitter exponential backoff: the wait is uniform in [0, min(cap, base * 2^(attempt-1))). */
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 15 * 60_000;
/** 131049 (per-user marketing cap / US marketing pause): wait at least a day, and try twice at most. */
export const ENGAGEMENT_RETRY_MS = 24 * 3_600_000;
export const ENGAGEMENT_JITTER_MS = 3_600_000;
export const ENGAGEMENT_MAX_TRIES = 2;
/**
 * Account-level errors (token, permission, blocked WABA) pause the number so one expiry costs one message, not the
 * queue.
 */
export const ACCOUNT_PAUSE_MS = 60_000;

export type OutcomePlan =
  | { kind: 'sent'; providerMessageId: string }
  | { kind: 'retry'; notBefore: number; errorCode: string; detail: string; engagementTries?: number }
  | { kind: 'failed'; errorCode: string; detail: string; effect?: 'unreachable' | 'marketing_opt_out' };

/** Pacing consequences the worker applies to its in-process pacer. */
export type PacingEffect = 'none' | 'slow_number' | 'pause_number' | 'penalize_recipient' | 'recipient_ok';

export interface PlanInput {
  result: SendResult;
  /** This try's number (1 for the first). */
  attempt: number;
  now: number;
  random: () => number;
  /** 131049 failures this message already had. */
  engagementTries: number;
  /** E.164 phone of the recipient, when known (US numbers are never retried after 131049). */
  phone: string | null;
  /** When the recipient may be tried again after a 131056 (the pacer's answer). */
  recipientReadyAt?: number;
}

export function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** The error code a message keeps for a Meta failure: a name for the ones with a meaning here, else META_<code>. */
export function errorCodeFor(r: Extract<SendResult, { ok: false }>): string {
  switch (r.classification.kind) {
    case 'needs_template':
      return 'NEEDS_TEMPLATE';
    case 'unreachable':
      return 'UNREACHABLE';
    case 'marketing_stopped':
      return 'MARKETING_STOPPED';
    case 'engagement_cap':
      return 'ENGAGEMENT_CAP';
    default:
      if (r.code >= 0) return `META_${r.code}`;
      return r.httpStatus === 0 ? 'NETWORK_ERROR' : `HTTP_${r.httpStatus}`;
  }
}

export function describeFailure(r: Extract<SendResult, { ok: false }>): string {
  const parts = [`${r.code >= 0 ? `(#${r.code}) ` : ''}${r.title}`];
  if (r.details) parts.push(r.details);
  if (r.fbtraceId) parts.push(`fbtrace_id ${r.fbtraceId}`);
  return parts.join(' — ').slice(0, 1000);
}

export function pacingEffectOf(result: SendResult): PacingEffect {
  if (result.ok) return 'recipient_ok';
  const c = result.classification;
  if (c.kind === 'throughput' && c.scope === 'number') return 'slow_number';
  if (c.kind === 'pair_rate') return 'penalize_recipient';
  if (c.scope === 'account' && !c.retryable) return 'pause_number';
  return 'none';
}

export function planOutcome(i: PlanInput): OutcomePlan {
  const r = i.result;
  if (r.ok) return { kind: 'sent', providerMessageId: r.messageId };
  const errorCode = errorCodeFor(r);
  const detail = `${describeFailure(r)} (try ${i.attempt})`;
  const c = r.classification;

  if (c.kind === 'engagement_cap') {
    // Meta pauses all marketing to US numbers: retrying there only fails again.
    const tries = i.engagementTries + 1;
    if (tries >= ENGAGEMENT_MAX_TRIES || i.phone?.startsWith('+1')) return { kind: 'failed', errorCode, detail };
    const notBefore = i.now + ENGAGEMENT_RETRY_MS + Math.floor(i.random() * ENGAGEMENT_JITTER_MS);
    return { kind: 'retry', notBefore, errorCode, detail, engagementTries: tries };
  }
  if (c.kind === 'unreachable') return { kind: 'failed', errorCode, detail, effect: 'unreachable' };
  if (c.kind === 'marketing_stopped') return { kind: 'failed', errorCode, detail, effect: 'marketing_opt_out' };
  if (!c.retryable) return { kind: 'failed', errorCode, detail };

  if (i.attempt >= MAX_ATTEMPTS)
    return { kind: 'failed', errorCode, detail: `${detail}; gave up after ${i.attempt} tries` };
  if (c.kind === 'pair_rate') {
    // Only this recipient waits (4^n s, the pacer's count); other recipients go on at once.
    return { kind: 'retry', notBefore: Math.max(i.recipientReadyAt ?? 0, i.now + 1000), errorCode, detail };
  }
  if (c.kind === 'throughput') {
    // The number is paused for a second and slowed; spread the retries past the pause.
    return { kind: 'retry', notBefore: i.now + 1000 + backoffMs(i.attempt, i.random), errorCode, detail };
  }
  return { kind: 'retry', notBefore: i.now + backoffMs(i.attempt, i.random), errorCode, detail };
}
