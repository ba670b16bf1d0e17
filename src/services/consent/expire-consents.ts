import { expiryScope, type ExpiryAction } from '../../domain/consent/model.js';
import { pendingDaysOf, validityDaysOf } from '../../domain/gate/expiry-policy.js';
import type { BusinessPolicy } from '../../domain/gate/policy.js';
import { listTopics, parsePolicy, type Topic } from '../../storage/business/business-store.js';
import {
  appendEvent,
  findEventBySource,
  getStates,
  projectEvent,
  timedOf,
} from '../../storage/consent/consent-store.js';
import { dueStates, type DueState } from '../../storage/consent/expiry-store.js';
import { lockOrCreatePerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';
import { sendRepermissionPrompts } from './send-repermission-prompts.js';

const DAY = 86_400_000;
export const EXPIRY_ACTOR = 'system:expiry';

export interface ExpiryResult {
  /** Double opt-ins never confirmed in time (`expired` events, action pending_expired). */
  pendingExpired: number;
  /** Consents past their topic's validity (`expired` events, action validity_lapsed). */
  lapsed: number;
  /** Re-permission prompts queued (or noted as impossible: window closed and no template). */
  prompted: number;
}

/**
 * The expiry sweep (run hourly by worker/housekeeping.ts; time from the injected clock). Per business, in
 * batches: every pending double opt-in older than `policy.consentExpiry.pendingDays` and every consent past its
 * topic's validity gets an `expired` event through the ledger (appendEvent + projectEvent, so `optline verify`
 * holds), never an opt-out. Idempotent: an expired state is not selected again, and each event's source
 * reference (the decision it ends and the moment) is unique. Consents close to lapsing get one re-permission prompt.
 */
export async function expireConsents(
  ctx: ServiceContext,
  opts: { batchSize?: number; businessId?: string } = {},
): Promise<ExpiryResult> {
  const limit = opts.batchSize ?? 500;
  const out: ExpiryResult = { pendingExpired: 0, lapsed: 0, prompted: 0 };
  let sel = ctx.database.db.selectFrom('businesses').select(['id', 'policy']).orderBy('id');
  if (opts.businessId) sel = sel.where('id', '=', opts.businessId);
  for (const b of await sel.execute()) {
    const policy = parsePolicy(b.policy);
    const topics = (await listTopics(ctx.database.db, b.id)).filter((t) => t.archivedAt === null);
    const pendingDays = pendingDaysOf(policy);
    if (pendingDays > 0) {
      out.pendingExpired += await sweep(
        ctx,
        b.id,
        policy,
        topics,
        'pending_expired',
        pendingDays,
        { status: 'pending' },
        limit,
      );
    }
    for (const t of topics) {
      const days = validityDaysOf(policy, t.key);
      if (days === null) continue;
      out.lapsed += await sweep(
        ctx,
        b.id,
        policy,
        [t],
        'validity_lapsed',
        days,
        { status: 'opted_in', topicId: t.id },
        limit,
      );
    }
    out.prompted += await sendRepermissionPrompts(ctx, { id: b.id, policy }, topics, limit);
  }
  return out;
}

/** Expires every state due under one rule, a batch at a time; one transaction per decision ended. */
async function sweep(
  ctx: ServiceContext,
  businessId: string,
  policy: BusinessPolicy,
  topics: Topic[],
  action: ExpiryAction,
  days: number,
  sel: { status: string; topicId?: string },
  limit: number,
): Promise<number> {
  const byId = new Map(topics.map((t) => [t.id, t]));
  let n = 0;
  for (;;) {
    const due = await dueStates(ctx.database.db, businessId, {
      ...sel,
      decidedBy: ctx.clock.now() - days * DAY,
      limit,
    });
    const groups = new Map<string, DueState[]>();
    for (const d of due) {
      const k = `${d.personId}\n${d.eventId}\n${d.decidedAt}`;
      groups.set(k, [...(groups.get(k) ?? []), d]);
    }
    let written = 0;
    for (const g of groups.values()) written += await expireOne(ctx, businessId, policy, g, byId, action, days);
    n += written;
    // A full batch in which nothing could be expired (topics archived meanwhile) would come back unchanged.
    if (due.length < limit || written === 0) return n;
  }
}

async function expireOne(
  ctx: ServiceContext,
  businessId: string,
  policy: BusinessPolicy,
  group: DueState[],
  byId: Map<string, Topic>,
  action: ExpiryAction,
  days: number,
): Promise<number> {
  const { personId, eventId, decidedAt } = group[0]!;
  const at = decidedAt + days * DAY;
  const sourceRef = `expiry:${eventId}:${at}`;
  return ctx.database.transaction(async (trx) => {
    const now = ctx.clock.now();
    if (await findEventBySource(trx, businessId, sourceRef)) return 0;
    const person = await lockOrCreatePerson(trx, businessId, { personId }, now);
    if (person.erased_at !== null) return 0;
    // Read again under the person's lock: only the decisions that still hold are ended.
    const states = await getStates(trx, businessId, personId);
    const topics = group
      .filter((d) => states.get(d.topicId)?.eventId === eventId && byId.has(d.topicId))
      .map((d) => byId.get(d.topicId)!);
    if (!topics.length) return 0;
    const event = await appendEvent(
      trx,
      person,
      {
        type: 'expired',
        scope: expiryScope(eventId),
        topicKeys: topics.map((t) => t.key),
        channel: 'system',
        action,
        textHash: null,
        occurredAt: at,
        sourceRef,
        actor: EXPIRY_ACTOR,
        evidence: {
          rule: action === 'pending_expired' ? 'policy.consentExpiry.pendingDays' : 'policy.consentExpiry.validityDays',
          days,
          decidedAt,
          endsEvent: eventId,
        },
      },
      now,
      ctx.keyring.ledger,
    );
    const written = await projectEvent(trx, person, topics, timedOf(event), {
      doubleOptIn: policy.doubleOptIn,
      now,
    });
    return written.filter((w) => w.changed).length;
  });
}
