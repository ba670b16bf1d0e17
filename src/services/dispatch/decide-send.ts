import { fail } from '../../domain/errors.js';
import { decide, type GateDecision } from '../../domain/gate/decide.js';
import { loadGateFacts } from '../../storage/dispatch/gate-facts.js';
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.js';
import type { ServiceContext } from '../context.js';
import { resolvePersonRef, type PersonRefInput } from '../consent/person-ref.js';

export interface DecisionResult extends GateDecision {
  personId: string | null;
  topicId: string | null;
  topic: string;
}

/** The gate, read-only: "may this business send this notification to this person now?" */
export async function decideSend(
  ctx: ServiceContext,
  businessId: string,
  input: { person: PersonRefInput; topic: string },
  q: Kysely<DB> = ctx.database.db,
): Promise<DecisionResult> {
  const ref = resolvePersonRef(input.person, 'person.phone');
  const now = ctx.clock.now();
  const facts = await loadGateFacts(ctx.database, q, businessId, ref.key, input.topic, now, ctx.keyring.phoneHash);
  if (!facts) return fail('NOT_FOUND', 'No such business.', 'businessId');
  if (!facts.person?.timezone && ref.timezone && facts.person) facts.person.timezone = ref.timezone;
  const decision = decide(facts);
  ctx.metrics?.countDecision(decision);
  return { ...decision, personId: facts.personId, topicId: facts.topicId, topic: input.topic };
}

export async function decideBatch(
  ctx: ServiceContext,
  businessId: string,
  items: { person: PersonRefInput; topic: string }[],
): Promise<({ ok: true; decision: DecisionResult } | { ok: false; code: string; field: string; message: string })[]> {
  // All asked at once: on PostgreSQL the gate's reads of one batch then share a few statements (one round trip
  // each) instead of one round trip per item. Each item still gets its own decision or its own problem.
  const settled = await Promise.allSettled(items.map((item) => decideSend(ctx, businessId, item)));
  return settled.map((r, i) => {
    if (r.status === 'fulfilled') return { ok: true as const, decision: r.value };
    const err = r.reason as { code?: string; problems?: { field: string }[]; message: string };
    // No such business, or a failure that is not the item's (the database): the whole request fails.
    if (!err.code || err.code === 'NOT_FOUND') throw r.reason;
    return {
      ok: false as const,
      code: err.code,
      field: `items[${i}].${err.problems?.[0]?.field ?? 'person'}`,
      message: err.message,
    };
  });
}
