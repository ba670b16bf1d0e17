import type { TemplateSpec } from '../../domain/messages.js';
import { fail } from '../../domain/errors.js';
import { decide } from '../../domain/gate/decide.js';
import { sha256Hex } from '../../lib/crypto.js';
import { isUniqueViolation } from '../../storage/db.js';
import { loadGateFacts } from '../../storage/dispatch/gate-facts.js';
import { stableJson } from '../../domain/consent/model.js';
import { insertMessage, toMessage, type Message } from '../../storage/dispatch/outbox-store.js';
import { shareLockPerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';
import { resolvePersonRef, type PersonRefInput } from '../consent/person-ref.js';
import type { DecisionResult } from './decide-send.js';

export interface QueueInput {
  person: PersonRefInput;
  topic: string;
  template: TemplateSpec;
  idempotencyKey?: string;
}

export type QueueResult =
  | { outcome: 'queued' | 'deferred'; message: Message; decision: DecisionResult; replay: boolean }
  | { outcome: 'refused'; decision: DecisionResult };

/**
 * Queues a notification through the gate. The decision and the outbox row commit in one transaction; on
 * PostgreSQL the person's row is share-locked first so a concurrent opt-out (which takes the row for update)
 * either commits before the decision is read or waits until the message is queued, and then cancels it.
 */
export async function queueMessage(ctx: ServiceContext, businessId: string, input: QueueInput): Promise<QueueResult> {
  const ref = resolvePersonRef(input.person, 'person.phone');
  const requestHash = sha256Hex(stableJson({ person: ref.key, topic: input.topic, template: input.template }));
  const attempt = () =>
    ctx.database.transaction(async (trx): Promise<QueueResult> => {
      const now = ctx.clock.now();
      if (input.idempotencyKey) {
        const prior = await trx
          .selectFrom('messages')
          .selectAll()
          .where('business_id', '=', businessId)
          .where('idempotency_key', '=', input.idempotencyKey)
          .executeTakeFirst();
        if (prior) {
          const m = toMessage(prior);
          if (m.kind !== 'notification' || m.payload.requestHash !== requestHash) {
            fail(
              'IDEMPOTENCY_KEY_REUSED',
              'This Idempotency-Key was used with a different request.',
              'Idempotency-Key',
            );
          }
          const decision = {
            outcome: 'allow' as const,
            allowed: true,
            reasons: [],
            notBefore: null,
            personId: m.personId,
            topicId: m.topicId,
            topic: input.topic,
          };
          return { outcome: m.notBefore > m.createdAt ? 'deferred' : 'queued', message: m, decision, replay: true };
        }
      }
      await shareLockPerson(trx, businessId, ref.key);
      const facts = await loadGateFacts(
        ctx.database,
        trx,
        businessId,
        ref.key,
        input.topic,
        now,
        ctx.keyring.phoneHash,
        input.template.name,
      );
      if (!facts) return fail('NOT_FOUND', 'No such business.', 'businessId');
      const d = decide(facts);
      const decision: DecisionResult = { ...d, personId: facts.personId, topicId: facts.topicId, topic: input.topic };
      if (d.outcome === 'refuse' || !facts.personId) return { outcome: 'refused', decision };
      const row = await insertMessage(
        trx,
        {
          businessId,
          personId: facts.personId,
          topicId: facts.topicId,
          kind: 'notification',
          payload: { template: input.template, requestHash },
          notBefore: d.notBefore ?? now,
          idempotencyKey: input.idempotencyKey ?? null,
        },
        now,
      );
      return {
        outcome: d.outcome === 'defer' ? 'deferred' : 'queued',
        message: toMessage(row),
        decision,
        replay: false,
      };
    });
  try {
    return await attempt();
  } catch (e) {
    // Two requests with one Idempotency-Key raced: the loser reads the winner's row.
    if (input.idempotencyKey && isUniqueViolation(e)) return attempt();
    throw e;
  }
}

export async function getMessage(ctx: ServiceContext, businessId: string, id: string): Promise<Message> {
  const r = await ctx.database.db
    .selectFrom('messages')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) return fail('NOT_FOUND', 'No such message.', 'id');
  return toMessage(r);
}

export async function listMessages(
  ctx: ServiceContext,
  businessId: string,
  opts: { after?: string; limit: number; status?: string; personId?: string },
): Promise<Message[]> {
  let q = ctx.database.db
    .selectFrom('messages')
    .selectAll()
    .where('business_id', '=', businessId)
    .orderBy('id', 'desc')
    .limit(opts.limit);
  if (opts.after) q = q.where('id', '<', opts.after);
  if (opts.status) q = q.where('status', '=', opts.status);
  if (opts.personId) q = q.where('person_id', '=', opts.personId);
  return (await q.execute()).map(toMessage);
}
