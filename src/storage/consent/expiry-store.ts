import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';

type Q = Kysely<DB>;

/** One consent the sweep looks at: a (person, topic) state and the event that decided it. */
export interface DueState {
  personId: string;
  topicId: string;
  eventId: string;
  decidedAt: number;
}

/**
 * States of `status` decided at or before `decidedBy` (optionally after `decidedAfter`, optionally of one topic),
 * oldest first, at most `limit`. `unprompted`: only those whose decision has no re-permission prompt yet.
 */
export async function dueStates(
  q: Q,
  businessId: string,
  o: {
    status: string;
    decidedBy: number;
    decidedAfter?: number;
    topicId?: string;
    unprompted?: boolean;
    limit: number;
  },
): Promise<DueState[]> {
  let sel = q
    .selectFrom('consent_state as s')
    .select(['s.person_id', 's.topic_id', 's.event_id', 's.decided_at'])
    .where('s.business_id', '=', businessId)
    .where('s.status', '=', o.status)
    .where('s.decided_at', '<=', o.decidedBy);
  if (o.decidedAfter !== undefined) sel = sel.where('s.decided_at', '>', o.decidedAfter);
  if (o.topicId) sel = sel.where('s.topic_id', '=', o.topicId);
  if (o.unprompted) {
    sel = sel.where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('consent_reprompts as r')
            .select(sql.lit(1).as('one'))
            .whereRef('r.business_id', '=', 's.business_id')
            .whereRef('r.person_id', '=', 's.person_id')
            .whereRef('r.event_id', '=', 's.event_id'),
        ),
      ),
    );
  }
  const rows = await sel.orderBy('s.decided_at').orderBy('s.person_id').orderBy('s.topic_id').limit(o.limit).execute();
  return rows.map((r) => ({
    personId: r.person_id,
    topicId: r.topic_id,
    eventId: r.event_id,
    decidedAt: Number(r.decided_at),
  }));
}

/** Claims the prompt for one decision; false when it was asked for already (the sweep never asks twice). */
export async function claimReprompt(
  q: Q,
  r: {
    businessId: string;
    personId: string;
    eventId: string;
    topicKeys: string[];
    outcome: string;
    messageId: string | null;
  },
  now: number,
): Promise<boolean> {
  const made = await q
    .insertInto('consent_reprompts')
    .values({
      business_id: r.businessId,
      person_id: r.personId,
      event_id: r.eventId,
      topic_keys: JSON.stringify(r.topicKeys),
      message_id: r.messageId,
      outcome: r.outcome,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['business_id', 'person_id', 'event_id']).doNothing())
    .returning('event_id')
    .executeTakeFirst();
  return !!made;
}
