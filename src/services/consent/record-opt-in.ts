import { fail } from '../../domain/errors.js';
import { refuseIf } from '../../domain/errors.js';
import { textRefusal, topicsRefusal } from '../../domain/consent/opt-in-rules.js';
import { ACTIVE_ACTIONS, type Channel } from '../../domain/consent/model.js';
import { toBusiness, toTopic, type Business, type Topic } from '../../storage/business/business-store.js';
import { chainEvent, condKeyAfter, historyOf, type EventRow } from '../../storage/consent/consent-store.js';
import { projectionOf } from '../../domain/consent/projection.js';
import type { Trx } from '../../storage/db.js';
import type { ChecksArgs, OptInChecks, OptInPerson, OptInWrite } from '../../storage/consent/opt-in-store.js';
import { optInWriter, type OptInSteps } from '../../storage/consent/opt-in-writer.js';
import { messageRow } from '../../storage/dispatch/outbox-store.js';
import { newPersonRow, type PersonRow } from '../../storage/consent/people-store.js';
import type { LedgerKey } from '../../lib/crypto.js';
import type { ServiceContext } from '../context.js';
import { resolvePersonRef, type PersonRefInput, type ResolvedRef } from './person-ref.js';
import { confirmationLink } from './confirmation-link.js';

export interface OptInInput {
  person: PersonRefInput;
  topics: string[];
  channel: Channel;
  action: string;
  textHash?: string | null;
  occurredAt?: number;
  /** Precision of occurredAt in ms as its source gave it (Meta's webhooks: 1000); absent: exact. */
  precisionMs?: number;
  /**
   * 'restore': START after STOP. `topics` are the candidates; the projection gives back those the person's own
   * STOP took (domain/consent/model.ts replayStates). The event is recorded even when it restores nothing.
   */
  scope?: 'topics' | 'restore';
  evidence: Record<string, unknown>;
  sourceRef?: string | null;
  actor: string;
  language?: string;
}

export interface OptInResult {
  duplicate: boolean;
  event: EventRow;
  personId: string;
  changed: { topic: string; status: string }[];
  confirmationMessageId: string | null;
}

// What each channel must keep as proof that the person acted. The API key is always added by the caller.
const REQUIRED_EVIDENCE: Partial<Record<Channel, string[][]>> = {
  web: [['ip'], ['userAgent'], ['pageUrl']],
  app: [['appUserId', 'deviceId', 'ip']],
  whatsapp: [['messageId']],
  sms: [['messageId']],
  ivr: [['callId'], ['digits']],
  email: [['tokenId']],
  import: [['file'], ['row']],
};

// A keyword reply (START) is its own proof; everywhere else the exact text shown must be kept.
const needsText = (channel: Channel, action: string) =>
  !((channel === 'whatsapp' || channel === 'sms') && action === 'sent_keyword');

export function checkOptInShape(input: OptInInput, now: number): void {
  if (!(ACTIVE_ACTIONS as readonly string[]).includes(input.action)) {
    fail(
      'NO_USER_ACTION',
      `"${input.action}" is not an active user action. Consent needs one of: ${ACTIVE_ACTIONS.join(', ')}. A person writing to the business is not consent.`,
      'action',
    );
  }
  if (input.topics.length === 0) fail('VALIDATION_FAILED', 'Name at least one topic.', 'topics');
  for (const group of REQUIRED_EVIDENCE[input.channel] ?? []) {
    if (!group.some((k) => input.evidence[k] !== undefined && input.evidence[k] !== null && input.evidence[k] !== '')) {
      fail(
        'MISSING_EVIDENCE',
        `A ${input.channel} opt-in must keep ${group.join(' or ')} as evidence.`,
        `evidence.${group[0]}`,
      );
    }
  }
  if (needsText(input.channel, input.action) && !input.textHash) {
    fail(
      'MISSING_EVIDENCE',
      'Give textHash: the exact opt-in text the person saw must be kept with their consent.',
      'textHash',
    );
  }
  if (input.occurredAt !== undefined && input.occurredAt > now + 5 * 60_000) {
    fail('VALIDATION_FAILED', 'occurredAt is in the future.', 'occurredAt');
  }
}

export async function recordOptIn(ctx: ServiceContext, businessId: string, input: OptInInput): Promise<OptInResult> {
  const now = ctx.clock.now();
  checkOptInShape(input, now);
  const ref = resolvePersonRef(input.person, 'person.phone');
  return optInWriter(ctx.database).optIn(optInSteps(ctx, businessId, input, ref, now));
}

/** The opt-in inside a caller's transaction (the WhatsApp and web channels compose it with other writes). */
export async function recordOptInTx(
  ctx: ServiceContext,
  trx: Trx,
  businessId: string,
  input: OptInInput,
  ref: ReturnType<typeof resolvePersonRef>,
  now: number,
): Promise<OptInResult> {
  return optInWriter(ctx.database).optInTx(trx, optInSteps(ctx, businessId, input, ref, now));
}

/** The opt-in's rules as the writer's two pure steps: the checks on what was read, the plan on the person found. */
function optInSteps(
  ctx: ServiceContext,
  businessId: string,
  input: OptInInput,
  ref: ResolvedRef,
  now: number,
): OptInSteps<Checked, OptInResult> {
  const args = checksArgs(ctx, businessId, input, ref);
  return {
    args,
    key: ref.key,
    wantHistory: input.scope === 'restore',
    now,
    newPerson: { country: ref.country, timezone: ref.timezone, language: input.language ?? null },
    check: (facts) => {
      const c = applyChecks(input, args, facts);
      return 'duplicate' in c ? { done: c.duplicate } : { checked: c };
    },
    plan: (checked, found) => planWrite(businessId, input, ref, now, checked, found, ctx.keyring.ledger, ctx),
  };
}

const checksArgs = (ctx: ServiceContext, businessId: string, input: OptInInput, ref: ResolvedRef): ChecksArgs => ({
  businessId,
  topicKeys: [...new Set(input.topics)],
  textHash: input.textHash ?? null,
  phoneHash: ref.key.phone ? ctx.keyring.phoneHash(ref.key.phone) : null,
  sourceRef: input.sourceRef ?? null,
});

interface Checked {
  business: Business;
  topics: Topic[];
  keys: string[];
  evidence: Record<string, unknown>;
  liftSuppression: string | null;
}

/** Every check and refusal of an opt-in, in order, on what was read. A repeated sourceRef answers the first event. */
function applyChecks(input: OptInInput, args: ChecksArgs, facts: OptInChecks): Checked | { duplicate: OptInResult } {
  if (!facts.business) return fail('NOT_FOUND', 'No such business.', 'businessId');
  const business = toBusiness(facts.business);
  const keys = [...new Set(input.topics)];
  // Ordered by key, whatever order the database returned them in.
  const topics = facts.topics.map(toTopic).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const byKey = new Map(topics.map((t) => [t.key, t]));
  refuseIf(
    topicsRefusal(keys, (k) => byKey.get(k), business.policy.allowedCategories),
    'topics',
  );
  if (input.textHash) {
    const t = facts.text;
    const covered = t ? new Set(JSON.parse(t.topic_keys) as string[]) : null;
    const text = t && covered ? { usable: Number(t.usable) === 1, covers: (k: string) => covered.has(k) } : null;
    const r = textRefusal(text, keys);
    refuseIf(r, r?.code === 'TEXT_TOPICS_MISMATCH' ? 'topics' : 'textHash');
  }

  const dup = facts.duplicate;
  if (input.sourceRef && dup)
    return {
      duplicate: { duplicate: true, event: dup, personId: dup.person_id, changed: [], confirmationMessageId: null },
    };

  const evidence = { ...input.evidence };
  let liftSuppression: string | null = null;
  if (args.phoneHash && facts.suppressed) {
    if (input.channel === 'import') {
      fail(
        'CONTACT_ERASED',
        "This number was erased at the person's request; an import cannot add it back.",
        'person.phone',
      );
    }
    // The person acted again themselves (a new form, a keyword): the suppression is lifted, on the record.
    liftSuppression = args.phoneHash;
    evidence.resubscribedAfterErasure = true;
  }
  return { business, topics, keys, evidence, liftSuppression };
}

/**
 * What the opt-in writes, planned on the person as read: their row (created when new, learning WhatsApp ids),
 * the next event of their hash chain, the projection, and the confirmation queued in the outbox.
 */
function planWrite(
  businessId: string,
  input: OptInInput,
  ref: ResolvedRef,
  now: number,
  c: Checked,
  found: OptInPerson,
  ledger: LedgerKey,
  ctx: ServiceContext,
): { result: OptInResult; write: OptInWrite } {
  let person = found.person;
  const isNew = !person;
  if (!person) {
    if (ref.key.personId) return fail('NOT_FOUND', 'No such person.', 'person.personId');
    person = newPersonRow(businessId, ref.key, now, {
      country: ref.country,
      timezone: ref.timezone,
      language: input.language ?? null,
    });
  }
  if (person.erased_at !== null)
    fail('PERSON_ERASED', 'This person was erased; record a new opt-in by phone number instead.', 'person');

  const occurredAt = input.occurredAt ?? now;
  const { row: event, evidence } = chainEvent(
    person,
    {
      type: 'opt_in',
      scope: input.scope ?? 'topics',
      topicKeys: c.keys,
      channel: input.channel,
      action: input.action,
      textHash: input.textHash ?? null,
      occurredAt,
      precisionMs: input.precisionMs ?? null,
      sourceRef: input.sourceRef ?? null,
      actor: input.actor,
      evidence: c.evidence,
    },
    now,
    ledger,
  );
  const ev = historyOf(event);
  const condKey = person.cond_key === null || person.cond_key === undefined ? null : Number(person.cond_key);
  const written = projectionOf(found.states, found.lastStop, c.topics, ev, c.business.policy.doubleOptIn, {
    condKey,
    history: found.history || input.scope === 'restore' ? [...(found.history ?? []), ev] : null,
  });
  const changed = written.filter((x) => x.changed);

  // People hear of what is recorded for them: every opt-in that took effect is confirmed on WhatsApp,
  // queued in this same transaction.
  const message =
    changed.length > 0
      ? messageRow(
          {
            businessId,
            personId: person.id,
            topicId: null,
            kind: 'confirmation',
            relatedEventId: event.id,
            notBefore: now,
            payload: {
              topicKeys: changed.map((x) => x.topic.key),
              doubleOptIn: c.business.policy.doubleOptIn,
              language: input.language ?? person.language ?? c.business.policy.defaultLanguage,
              ...confirmationLink(ctx, businessId, person.id, c.business.policy.preferenceLink),
            },
          },
          now,
        )
      : null;
  const row: PersonRow = {
    ...person,
    // Learns WhatsApp ids for a person known by phone (and the reverse) as they arrive.
    wa_id: ref.key.waId && !person.wa_id ? ref.key.waId : person.wa_id,
    bsuid: ref.key.bsuid && !person.bsuid ? ref.key.bsuid : person.bsuid,
    chain_seq: event.seq,
    chain_head: event.hash,
    updated_at: now,
    cond_key: condKeyAfter(person, event),
  };
  return {
    result: {
      duplicate: false,
      event,
      personId: person.id,
      changed: changed.map((x) => ({ topic: x.topic.key, status: x.state.status })),
      confirmationMessageId: message?.id ?? null,
    },
    write: {
      person: { row, isNew, expect: { chainSeq: Number(person.chain_seq), updatedAt: Number(person.updated_at) } },
      event,
      evidence,
      message,
      now,
      states: written.map((x) => ({
        topicId: x.topic.id,
        status: x.state.status,
        decidedAt: x.state.decidedAt,
        eventId: x.state.eventId,
      })),
      liftSuppression: c.liftSuppression,
    },
  };
}
