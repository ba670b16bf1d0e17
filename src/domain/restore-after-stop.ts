/**
 * START after STOP: which topics does START give back? The ones the person had agreed to (opted in, or
 * opted in and awaiting confirmation) just before their latest STOP, and no others: a STOP is recorded
 * against every topic of the business, including topics the person never chose, and START must not turn
 * the STOP's list into consent for those.
 */
import { nextState, type ConsentStatus, type EventType, type TopicState } from './consent.js';

export interface ReplayEvent {
  id: string;
  type: EventType | string;
  topicKeys: string[];
  occurredAt: number;
}

/**
 * Replays a person's events (in chain order) and returns the topics whose state at the end was opted in
 * or pending. Same rules as the live projection (domain/consent.ts nextState), erasure clears everything.
 */
export function topicsAgreedAfter(events: ReplayEvent[]): string[] {
  const state = new Map<string, TopicState>();
  for (const ev of events) {
    if (ev.type === 'erased') {
      state.clear();
      continue;
    }
    if (ev.type !== 'opt_in' && ev.type !== 'opt_out' && ev.type !== 'confirmed') continue;
    for (const key of ev.topicKeys) {
      // Double opt-in or not makes no difference here: pending and opted in both count as agreed.
      const next = nextState(state.get(key), { id: ev.id, type: ev.type, occurredAt: ev.occurredAt }, true);
      if (next) state.set(key, next);
    }
  }
  const agreed: ConsentStatus[] = ['opted_in', 'pending'];
  return [...state].filter(([, s]) => agreed.includes(s.status)).map(([k]) => k).sort();
}
