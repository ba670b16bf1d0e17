/**
 * What happened to a message, told from the times recorded for it (claimed, provider call started and ended,
 * cancelled), never guessed from the order in which the rows were written. Pure: the API view and the worker's
 * notes both use it, so they say the same thing.
 */

export interface MessageTimes {
  claimedAt: number | null;
  callStartedAt: number | null;
  callEndedAt: number | null;
  cancelledAt: number | null;
  cancelReason: string | null;
}

const LEFT = new Set(['sent', 'delivered', 'read']);
const iso = (t: number) => new Date(t).toISOString();

/**
 * How a message that left relates to a cancellation recorded for it: 'before' when its provider call started
 * no later than the cancellation (it could not be stopped), 'after' when it started later (a broken promise,
 * reported as such), null when there is no cancellation or a time is missing.
 */
export function leftRelativeToCancel(t: MessageTimes): 'before' | 'after' | null {
  if (t.cancelledAt === null || t.callStartedAt === null) return null;
  return t.callStartedAt <= t.cancelledAt ? 'before' : 'after';
}

/** One sentence on the message's history, from its status and its times. */
export function describeMessage(status: string, t: MessageTimes): string {
  const reason = t.cancelReason ? ` (${t.cancelReason})` : '';
  if (LEFT.has(status)) {
    if (t.callStartedAt === null) return `The message was ${status}; when its provider call started was not recorded.`;
    const started = `its provider call started at ${iso(t.callStartedAt)}`;
    const rel = leftRelativeToCancel(t);
    if (rel === 'before') {
      return `The message was ${status}: ${started}, before the cancellation${reason} at ${iso(t.cancelledAt!)}, so it could not be stopped.`;
    }
    if (rel === 'after')
      return `The message was ${status}: ${started}, after the cancellation${reason} at ${iso(t.cancelledAt!)}.`;
    return `The message was ${status}: ${started}.`;
  }
  if (status === 'cancelled') {
    const when = t.cancelledAt !== null ? ` at ${iso(t.cancelledAt)}` : '';
    if (t.callStartedAt === null) return `Cancelled${reason}${when}, before any provider call.`;
    return `Cancelled${reason}${when}; a provider call had started at ${iso(t.callStartedAt)} and was not accepted.`;
  }
  if (status === 'sending') {
    if (t.callStartedAt !== null)
      return `Its provider call started at ${iso(t.callStartedAt)}; waiting for the answer.`;
    if (t.claimedAt !== null) return `Claimed by a worker at ${iso(t.claimedAt)}; no provider call has started.`;
    return 'Claimed by a worker; no provider call has started.';
  }
  if (status === 'unknown') {
    return t.callStartedAt !== null
      ? `Its provider call started at ${iso(t.callStartedAt)} and its worker stopped before the answer was recorded: it may or may not have been delivered.`
      : 'Its worker stopped before recording whether a provider call started: it may or may not have been delivered.';
  }
  if (status === 'failed') {
    return t.callStartedAt !== null
      ? `Failed: the provider call started at ${iso(t.callStartedAt)} was refused.`
      : 'Failed before any provider call.';
  }
  if (status === 'refused') return 'Refused by the send gate; no provider call was made.';
  return t.callStartedAt !== null
    ? `Queued again after a provider call that started at ${iso(t.callStartedAt)}.`
    : 'Queued; no provider call has started.';
}
