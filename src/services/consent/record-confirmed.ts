import { getTopicsByKeys, getBusiness } from '../../storage/business/business-store.js';
import {
  appendEvent,
  findEventBySource,
  getStates,
  projectEvent,
  timedOf,
  type EventRow,
} from '../../storage/consent/consent-store.js';
import type { Trx } from '../../storage/db.js';
import { parseJson } from '../../storage/json.js';
import { lockOrCreatePerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';

export interface ConfirmInput {
  personId: string;
  /** The opt-in being confirmed (the id in the Confirm button). */
  optInEventId: string;
  channel: string;
  action: string;
  occurredAt: number;
  /** Precision of occurredAt in ms as its source gave it (Meta's webhooks: 1000); absent: exact. */
  precisionMs?: number;
  evidence: Record<string, unknown>;
  sourceRef: string;
  actor: string;
}

export type ConfirmResult =
  | { outcome: 'confirmed'; event: EventRow; changed: string[] }
  | { outcome: 'nothing_pending'; event: EventRow; changed: string[] }
  | { outcome: 'duplicate' | 'not_found' };

/**
 * Double opt-in: the person tapped Confirm. Appends a `confirmed` event for the opt-in's topics and projects it
 * (pending → opted in), in the caller's transaction. The Confirm button names the opt-in event, so it confirms
 * only an opt-in of the same person. A tap when nothing is pending any more (confirmed already, opted out
 * since) is still recorded, for all the opt-in's topics, and changes nothing now: `confirmed` never revives
 * an opt-out, but an opt-in that sorts before it and arrives later is completed by it, whatever the order of
 * arrival (domain/consent/model.ts replayStates).
 */
export async function recordConfirmedTx(
  ctx: ServiceContext,
  trx: Trx,
  businessId: string,
  input: ConfirmInput,
  now: number,
): Promise<ConfirmResult> {
  if (await findEventBySource(trx, businessId, input.sourceRef)) return { outcome: 'duplicate' };
  const optIn = await trx
    .selectFrom('consent_events')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('id', '=', input.optInEventId)
    .executeTakeFirst();
  if (!optIn || optIn.type !== 'opt_in' || optIn.person_id !== input.personId) return { outcome: 'not_found' };
  const business = await getBusiness(trx, businessId);
  if (!business) return { outcome: 'not_found' };
  const person = await lockOrCreatePerson(trx, businessId, { personId: input.personId }, now);
  if (person.erased_at !== null) return { outcome: 'not_found' };

  const topics = await getTopicsByKeys(trx, businessId, parseJson<string[]>(optIn.topic_keys, []));
  const states = await getStates(trx, businessId, person.id);
  const pending = topics.filter((t) => states.get(t.id)?.status === 'pending');
  // Every tap is an action of the person: recorded even when it completes nothing now (G4).
  const covered = pending.length > 0 ? pending : topics;
  if (covered.length === 0) return { outcome: 'not_found' };

  const event = await appendEvent(
    trx,
    person,
    {
      type: 'confirmed',
      scope: 'topics',
      topicKeys: covered.map((t) => t.key),
      channel: input.channel,
      action: input.action,
      textHash: optIn.text_hash,
      occurredAt: input.occurredAt,
      precisionMs: input.precisionMs ?? null,
      sourceRef: input.sourceRef,
      actor: input.actor,
      evidence: {
        ...input.evidence,
        optInEventId: optIn.id,
        ...(pending.length === 0 ? { nothingPending: true } : {}),
      },
    },
    now,
    ctx.keyring.ledger,
  );
  const written = await projectEvent(trx, person, covered, timedOf(event), {
    doubleOptIn: business.policy.doubleOptIn,
    now,
  });
  const changed = written.filter((c) => c.changed).map((c) => c.topic.key);
  return { outcome: changed.length > 0 ? 'confirmed' : 'nothing_pending', event, changed };
}
