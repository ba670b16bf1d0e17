import { fail } from '../../domain/errors.js';
import {
  ACTIVE_ACTIONS,
  EXACT_MS,
  SECONDS_MS,
  SYSTEM_ACTIONS,
  type Channel,
  type Scope,
} from '../../domain/consent/model.js';
import type { Topic } from '../../storage/business/business-store.js';
import {
  appendEvent,
  findEventBySource,
  projectEvent,
  timedOf,
  type EventRow,
} from '../../storage/consent/consent-store.js';
import { callsInFlight, cancelOpenMessages } from '../../storage/dispatch/outbox-store.js';
import { lockOrCreatePerson } from '../../storage/consent/people-store.js';
import { isUniqueViolation, type Trx } from '../../storage/db.js';
import type { ServiceContext } from '../context.js';
import { resolvePersonRef, type PersonRefInput } from './person-ref.js';
import { awaitCallsInFlight } from './await-calls-in-flight.js';

export interface OptOutInput {
  person: PersonRefInput;
  /** 'all' (STOP and its equivalents), 'topics' (a preference page, a list reply) or 'marketing' (Meta's setting). */
  scope: Scope;
  topics?: string[];
  channel: Channel;
  action: string;
  occurredAt?: number;
  /**
   * Precision of occurredAt in ms as its source gave it; absent: Meta's seconds for the WhatsApp webhook, else exact.
   */
  precisionMs?: number;
  evidence: Record<string, unknown>;
  sourceRef?: string | null;
  actor: string;
}

export interface OptOutResult {
  duplicate: boolean;
  event: EventRow;
  personId: string;
  changed: { topic: string; status: string }[];
  cancelledMessages: number;
  /**
   * Messages whose provider call had started, not ended, when this opt-out committed (see await-calls-in-flight.ts).
   */
  callsInFlight: string[];
}

const OPT_OUT_ACTIONS: readonly string[] = [...ACTIVE_ACTIONS, ...SYSTEM_ACTIONS];

export async function recordOptOut(ctx: ServiceContext, businessId: string, input: OptOutInput): Promise<OptOutResult> {
  const now = ctx.clock.now();
  if (!OPT_OUT_ACTIONS.includes(input.action)) {
    fail('VALIDATION_FAILED', `action must be one of: ${OPT_OUT_ACTIONS.join(', ')}.`, 'action');
  }
  if (input.scope === 'topics' && (!input.topics || input.topics.length === 0)) {
    fail('VALIDATION_FAILED', 'Name the topics to opt out of, or use scope "all".', 'topics');
  }
  if (input.occurredAt !== undefined && input.occurredAt > now + 5 * 60_000)
    fail('VALIDATION_FAILED', 'occurredAt is in the future.', 'occurredAt');
  const ref = resolvePersonRef(input.person, 'person.phone');
  const run = () => ctx.database.transaction((trx) => recordOptOutTx(ctx, trx, businessId, input, ref, now));
  let r: OptOutResult;
  try {
    r = await run();
  } catch (e) {
    // A concurrent duplicate (same Idempotency-Key, or the same new person) committed first: run once more,
    // which replays it (or appends after it), as a sequential retry would.
    if (!isUniqueViolation(e)) throw e;
    r = await run();
  }
  // Acknowledged only once no call started before it can still reach the provider.
  await awaitCallsInFlight(ctx, [{ businessId, personId: r.personId, messageIds: r.callsInFlight }]);
  return r;
}

/**
 * The opt-out inside a caller's transaction. It always takes effect (an opt-out needs no consent text and
 * no particular action), records who asked and how, and cancels every message that has not left yet.
 */
export async function recordOptOutTx(
  ctx: ServiceContext,
  trx: Trx,
  businessId: string,
  input: OptOutInput,
  ref: ReturnType<typeof resolvePersonRef>,
  now: number,
): Promise<OptOutResult> {
  // The business and its topics at the version this transaction sees (the business cache: one version read).
  const business = await ctx.database.caches.businesses.get(trx, businessId);
  if (!business) return fail('NOT_FOUND', 'No such business.', 'businessId');
  const byKey = (a: Topic, b: Topic) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  let topics =
    input.scope === 'topics'
      ? [...new Set(input.topics)].flatMap((k) => business.topicsByKey.get(k) ?? []).sort(byKey)
      : [...business.topicsByKey.values()].sort(byKey);
  if (input.scope === 'topics') {
    const unknown = (input.topics ?? []).filter((k) => !topics.some((t) => t.key === k));
    if (unknown.length) fail('UNKNOWN_TOPIC', `Unknown topic(s): ${unknown.join(', ')}.`, 'topics');
  }
  if (input.scope === 'marketing') topics = topics.filter((t) => t.category === 'marketing');

  if (input.sourceRef) {
    const dup = await findEventBySource(trx, businessId, input.sourceRef);
    if (dup)
      return {
        duplicate: true,
        event: dup,
        personId: dup.person_id,
        changed: [],
        cancelledMessages: 0,
        callsInFlight: [],
      };
  }
  const person =
    ref.held ??
    (await lockOrCreatePerson(trx, businessId, ref.key, now, {
      country: ref.country,
      timezone: ref.timezone,
    }));
  if (person.erased_at !== null) fail('PERSON_ERASED', 'This person was erased and is already suppressed.', 'person');
  const occurredAt = input.occurredAt ?? now;
  const event = await appendEvent(
    trx,
    person,
    {
      type: 'opt_out',
      scope: input.scope,
      topicKeys: topics.map((t) => t.key),
      channel: input.channel,
      action: input.action,
      textHash: null,
      occurredAt,
      precisionMs: input.precisionMs ?? precisionOfActor(input.actor),
      sourceRef: input.sourceRef ?? null,
      actor: input.actor,
      evidence: input.evidence,
    },
    now,
    ctx.keyring.ledger,
  );
  const written = await projectEvent(trx, person, topics, timedOf(event), {
    doubleOptIn: business.policy.doubleOptIn,
    now,
  });
  const changed = written.filter((c) => c.changed);
  // An acknowledged opt-out stops every later send: nothing already queued may leave after this commits.
  // STOP cancels everything, confirmations included.
  const cancelled = await cancelOpenMessages(
    trx,
    businessId,
    person.id,
    input.scope === 'all' ? null : topics.map((t) => t.id),
    'OPTED_OUT',
    now,
  );
  // The calls that did start before this commit: whoever acknowledges this opt-out waits for them to end first.
  const inFlight = await callsInFlight(trx, businessId, person.id);
  if (inFlight.length) ctx.callHolds?.push({ businessId, personId: person.id, messageIds: inFlight });
  return {
    duplicate: false,
    event,
    personId: person.id,
    changed: changed.map((c) => ({ topic: c.topic.key, status: c.state.status })),
    cancelledMessages: cancelled,
    callsInFlight: inFlight,
  };
}

/** Meta's webhooks (messages and user_preferences) time events in whole seconds; every other source to the ms. */
const precisionOfActor = (actor: string) => (actor === 'webhook:whatsapp' ? SECONDS_MS : EXACT_MS);
