/**
 * START after STOP: which topics does START give back? The ones the person had agreed to (opted in, or
 * opted in and awaiting confirmation) just before their latest STOP, and no others: a STOP is recorded
 * against every topic of the business, including topics the person never chose, and START must not turn
 * the STOP's list into consent for those.
 */
import { replayStates, type EventType, type HistoryEvent } from './model.js';

export interface ReplayEvent {
  id: string;
  type: EventType | string;
  topicKeys: string[];
  occurredAt: number;
  precisionMs?: number | null;
  scope?: string;
  action?: string;
}

/**
 * Replays a person's events (in canonical order, whatever order they are given in) and returns the topics
 * whose state at the end was opted in or pending. Same rules as the live projection (domain/consent/model.ts
 * replayStates); erasure clears everything.
 */
export function topicsAgreedAfter(events: ReplayEvent[]): string[] {
  const keys = [...new Set(events.flatMap((e) => e.topicKeys))];
  const history: HistoryEvent[] = events.map((e) => ({ ...e, action: e.action ?? '', scope: e.scope ?? 'topics' }));
  // Double opt-in or not makes no difference here: pending and opted in both count as agreed.
  const states = replayStates(history, keys, true);
  return keys.filter((k) => states.get(k)?.status === 'opted_in' || states.get(k)?.status === 'pending').sort();
}
