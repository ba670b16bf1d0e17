/**
 * The gate again, at the moment of dispatch (refused at enqueue AND at dispatch: consent changes while a
 * message waits). Pure: the claim
 * gathers the facts inside its transaction. Each kind of message has its own rule:
 *
 * - notification: the full send gate (consent, category, caps, spacing, quiet hours, erasure, reachability);
 * - confirmation: at least one of its topics still opted in (or pending a double opt-in), person not erased;
 * - reply (support answers, keyword acknowledgements): no consent needed, but only inside the person's 24 h
 *   customer-service window, the one time free-form messages are allowed.
 */
import { decide, type GateFacts } from './decide.js';
import type { ConsentStatus } from '../consent/model.js';

/** WhatsApp's customer-service window: free-form messages only within 24 h of the person's last message. */
export const SERVICE_WINDOW_MS = 24 * 3_600_000;

export type DispatchVerdict =
  | { action: 'send' }
  | { action: 'defer'; notBefore: number; codes: string[]; detail: string }
  | { action: 'refuse'; codes: string[]; detail: string }
  | { action: 'cancel'; code: string; detail: string };

export function windowOpen(lastInboundAt: number | null, now: number): boolean {
  return lastInboundAt !== null && lastInboundAt + SERVICE_WINDOW_MS > now;
}

export function notificationVerdict(facts: GateFacts): DispatchVerdict {
  const d = decide(facts);
  const codes = d.reasons.map((r) => r.code);
  const detail = d.reasons.map((r) => r.message).join(' ');
  if (d.outcome === 'refuse')
    return { action: 'refuse', codes: d.reasons.filter((r) => r.until === undefined).map((r) => r.code), detail };
  if (d.outcome === 'defer') return { action: 'defer', notBefore: d.notBefore ?? facts.now, codes, detail };
  return { action: 'send' };
}

export function confirmationVerdict(f: {
  erased: boolean;
  suppressed: boolean;
  /** The state of each topic the confirmation names (missing: never decided). */
  states: (ConsentStatus | null)[];
}): DispatchVerdict {
  if (f.erased || f.suppressed) return { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person was erased.' };
  if (f.states.some((s) => s === 'opted_in' || s === 'pending')) return { action: 'send' };
  const optedOut = f.states.some((s) => s === 'opted_out');
  return optedOut
    ? {
        action: 'cancel',
        code: 'OPTED_OUT',
        detail: 'The person opted out of every topic this confirmation names before it left.',
      }
    : {
        action: 'cancel',
        code: 'NO_CONSENT',
        detail: 'None of the topics this confirmation names is opted in any more.',
      };
}

export function replyVerdict(f: { erased: boolean; lastInboundAt: number | null; now: number }): DispatchVerdict {
  if (f.erased) return { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person was erased.' };
  if (!windowOpen(f.lastInboundAt, f.now)) {
    return {
      action: 'cancel',
      code: 'WINDOW_CLOSED',
      detail: "A reply may only be sent within 24 hours of the person's last message.",
    };
  }
  return { action: 'send' };
}
