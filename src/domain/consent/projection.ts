import { needsReplay, nextState, replayStates, type HistoryEvent, type TimedEvent, type TopicState } from './model.js';

/** A topic as the projection needs it: its id (state rows) and key (events name topics by key). */
export interface TopicRef {
  id: string;
  key: string;
}

export interface Projected<T extends TopicRef = TopicRef> {
  topic: T;
  state: TopicState;
  /** The status changed (what callers report and confirm); false: a newer decision of the same status. */
  changed: boolean;
}

/**
 * The state each topic takes from one event, given the person's current states (by topic id) and latest STOP
 * (its order key). Pure, so the opt-in's fast path and the import project exactly as `projectEvent` does.
 * With `history` (every event of the person, `ev` included) and when stepping would not be exact
 * (domain/consent/model.ts needsReplay, given people.cond_key), the states come from replaying the set.
 * Returns every state to write.
 */
export function projectionOf<T extends TopicRef>(
  current: { get(topicId: string): TopicState | undefined },
  stop: { at: number; eventId: string } | null | undefined,
  topics: T[],
  ev: TimedEvent,
  doubleOptIn: boolean,
  replay?: { condKey: number | null; history: HistoryEvent[] | null },
): Projected<T>[] {
  const out: Projected<T>[] = [];
  if (replay?.history && needsReplay(replay.condKey, ev)) {
    const states = replayStates(
      replay.history,
      topics.map((t) => t.key),
      doubleOptIn,
    );
    for (const t of topics) {
      const next = states.get(t.key);
      const cur = current.get(t.id);
      if (
        !next ||
        (cur && cur.status === next.status && cur.decidedAt === next.decidedAt && cur.eventId === next.eventId)
      )
        continue;
      out.push({
        topic: t,
        state: next,
        changed: cur ? cur.status !== next.status : next.status !== 'opted_out' || ev.type === 'opt_out',
      });
    }
    return out;
  }
  for (const t of topics) {
    let cur = current.get(t.id);
    // A topic never decided before inherits the person's latest STOP as its floor.
    const floor = !cur && !!stop;
    if (floor && stop) cur = { status: 'opted_out', decidedAt: stop.at, eventId: stop.eventId };
    const next = nextState(cur, ev, doubleOptIn);
    if (next) out.push({ topic: t, state: next, changed: !cur || floor || cur.status !== next.status });
  }
  return out;
}
