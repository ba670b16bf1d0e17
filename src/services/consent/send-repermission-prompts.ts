import { validityDaysOf } from '../../domain/gate/expiry-policy.js';
import type { BusinessPolicy } from '../../domain/gate/policy.js';
import type { Topic } from '../../storage/business/business-store.js';
import { claimReprompt, dueStates, type DueState } from '../../storage/consent/expiry-store.js';
import { findPerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';
import { queueReplyTx, windowOpen } from '../dispatch/queue-reply.js';
import { queueMessage } from '../dispatch/queue-message.js';

const DAY = 86_400_000;

/** The prompt's wording inside the service window (free-form text); outside it the business's template speaks. */
export const repermissionText = (business: string, topics: string[], endsAt: number): string =>
  `${business}: your permission to send you ${topics.join(', ')} ends on ${new Date(endsAt).toISOString().slice(0, 10)}. ` +
  'To keep receiving these messages, please opt in again.';

/**
 * Asks people to renew a consent `repermissionLeadDays` before it lapses, once per decision (consent_reprompts):
 * inside the person's 24 h window as a chat reply, else with `policy.consentExpiry.repermissionTemplate` as a
 * notification through the gate (idempotency key `reprompt:<event>`, so a crash between the two writes never
 * sends twice). With neither, the row records `no_channel` and the consent lapses unasked. Returns prompts handled.
 */
export async function sendRepermissionPrompts(
  ctx: ServiceContext,
  business: { id: string; policy: BusinessPolicy },
  topics: Topic[],
  limit: number,
): Promise<number> {
  const lead = business.policy.consentExpiry?.repermissionLeadDays ?? 0;
  if (lead <= 0) return 0;
  const name =
    (
      await ctx.database.db
        .selectFrom('businesses')
        .select('display_name')
        .where('id', '=', business.id)
        .executeTakeFirst()
    )?.display_name ?? '';
  let n = 0;
  for (const t of topics) {
    const days = validityDaysOf(business.policy, t.key);
    if (days === null || lead >= days) continue;
    const now = ctx.clock.now();
    const due = await dueStates(ctx.database.db, business.id, {
      status: 'opted_in',
      topicId: t.id,
      decidedBy: now - (days - lead) * DAY,
      decidedAfter: now - days * DAY,
      unprompted: true,
      limit,
    });
    for (const d of due) n += await promptOne(ctx, business, name, t, d, d.decidedAt + days * DAY);
  }
  return n;
}

async function promptOne(
  ctx: ServiceContext,
  business: { id: string; policy: BusinessPolicy },
  name: string,
  topic: Topic,
  d: DueState,
  endsAt: number,
): Promise<number> {
  const tpl = business.policy.consentExpiry?.repermissionTemplate ?? null;
  const inWindow = await ctx.database
    .transaction(async (trx) => {
      const now = ctx.clock.now();
      const person = await findPerson(trx, business.id, { personId: d.personId });
      if (!person || person.erased_at !== null || !windowOpen(person, now)) return false;
      const claim = { businessId: business.id, personId: d.personId, eventId: d.eventId, topicKeys: [topic.key] };
      const row = await queueReplyTx(
        trx,
        {
          businessId: business.id,
          personId: d.personId,
          purpose: 'repermission',
          text: repermissionText(name, [topic.name], endsAt),
          extra: { topicKeys: [topic.key], renews: d.eventId },
        },
        now,
      );
      // The claim comes first in intent, but one transaction makes the order moot: both commit or neither.
      if (!(await claimReprompt(trx, { ...claim, outcome: 'queued', messageId: row.id }, now)))
        throw new AlreadyPrompted();
      return true;
    })
    .catch((e: unknown) => (e instanceof AlreadyPrompted ? null : Promise.reject(e)));
  if (inWindow !== false) return inWindow ? 1 : 0;
  let messageId: string | null = null;
  let outcome = 'no_channel';
  if (tpl) {
    const r = await queueMessage(ctx, business.id, {
      person: { personId: d.personId },
      topic: topic.key,
      idempotencyKey: `reprompt:${d.eventId}:${topic.id}`,
      template: {
        name: tpl.name,
        language: tpl.language,
        bodyParams: [name, topic.name, new Date(endsAt).toISOString().slice(0, 10)],
      },
    });
    outcome = r.outcome;
    messageId = r.outcome === 'refused' ? null : r.message.id;
  }
  const made = await claimReprompt(
    ctx.database.db,
    {
      businessId: business.id,
      personId: d.personId,
      eventId: d.eventId,
      topicKeys: [topic.key],
      outcome,
      messageId,
    },
    ctx.clock.now(),
  );
  return made ? 1 : 0;
}

class AlreadyPrompted extends Error {}
