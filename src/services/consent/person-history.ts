import { fail } from '../../domain/errors.js';
import { stableJson } from '../../domain/consent/model.js';
import { sha256Hex, type LedgerKey } from '../../lib/crypto.js';
import { hashScheme, recomputeEventHash } from '../../storage/consent/consent-store.js';
import { headsOf, latestSeal, legacySeal, type HeadRow, type SealRow } from '../../storage/consent/seal-store.js';
import { sealedBusinessIds, verifySeals } from './seal-ledger.js';
import { parseJson } from '../../storage/json.js';
import type { DB } from '../../storage/schema.js';
import type { Kysely } from 'kysely';

type Q = Kysely<DB>;

export interface Person {
  id: string;
  phone: string | null;
  waId: string | null;
  bsuid: string | null;
  country: string | null;
  language: string | null;
  timezone: string | null;
  createdAt: number;
  erasedAt: number | null;
  lastInboundAt: number | null;
  unreachableAt: number | null;
  eventCount: number;
}

export const toPerson = (r: DB['people']): Person => ({
  id: r.id,
  phone: r.phone_e164,
  waId: r.wa_id,
  bsuid: r.bsuid,
  country: r.country,
  language: r.language,
  timezone: r.timezone,
  createdAt: Number(r.created_at),
  erasedAt: r.erased_at === null ? null : Number(r.erased_at),
  lastInboundAt: r.last_inbound_at === null ? null : Number(r.last_inbound_at),
  unreachableAt: r.unreachable_at === null ? null : Number(r.unreachable_at),
  eventCount: Number(r.chain_seq),
});

export interface ConsentEvent {
  id: string;
  seq: number;
  type: string;
  scope: string;
  topics: string[];
  channel: string;
  action: string;
  textHash: string | null;
  occurredAt: number;
  recordedAt: number;
  sourceRef: string | null;
  actor: string;
  evidence: Record<string, unknown> | null; // null once erased
  evidenceHash: string;
  prevHash: string | null;
  hash: string;
}

export async function getPersonOrFail(q: Q, businessId: string, personId: string): Promise<DB['people']> {
  const r = await q
    .selectFrom('people')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('id', '=', personId)
    .executeTakeFirst();
  if (!r) return fail('NOT_FOUND', 'No such person.', 'personId');
  return r;
}

export async function personEvents(q: Q, businessId: string, personId: string): Promise<ConsentEvent[]> {
  const rows = await q
    .selectFrom('consent_events as e')
    .leftJoin('consent_evidence as v', (j) =>
      j.onRef('v.business_id', '=', 'e.business_id').onRef('v.event_id', '=', 'e.id'),
    )
    .selectAll('e')
    .select('v.evidence')
    .where('e.business_id', '=', businessId)
    .where('e.person_id', '=', personId)
    .orderBy('e.seq')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    seq: Number(r.seq),
    type: r.type,
    scope: r.scope,
    topics: parseJson<string[]>(r.topic_keys, []),
    channel: r.channel,
    action: r.action,
    textHash: r.text_hash,
    occurredAt: Number(r.occurred_at),
    recordedAt: Number(r.recorded_at),
    sourceRef: r.source_ref,
    actor: r.actor,
    evidence: r.evidence === null ? null : parseJson<Record<string, unknown>>(r.evidence, {}),
    evidenceHash: r.evidence_hash,
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
}

export interface ChainProblem {
  businessId: string;
  /** null for a problem of the business's ledger as a whole (a seal, a count). */
  personId: string | null;
  eventId: string | null;
  seq: number | null;
  problem: string;
}

/** What a person's chain is checked against beyond itself: the business's seals. */
export interface ChainContext {
  /** Seal 0 of the business: the allowance of unkeyed events written before keyed hashes (null: none allowed). */
  legacy: SealRow | null;
  /** The head the newest seal covers for this person, if any. */
  sealed: HeadRow | null;
  /** The business has keyed seals (the first one covered every unkeyed event there was). */
  businessSealed: boolean;
  /** Check only the events after this position (sealing does: what came before was checked then). */
  from?: { seq: number; hash: string } | null;
}

/**
 * Checks one person's chain: every hash recomputed with the scheme it names (keyed `k1:`, or the unkeyed SHA-256
 * of events from before, accepted only within the business's legacy allowance and never after a keyed event),
 * every link and sequence number, the stored head, and the head the newest seal covers.
 */
export function verifyPersonChain(
  ledger: LedgerKey,
  person: { id: string; business_id: string; chain_seq: number; chain_head: string | null; erased_at: number | null },
  events: DB['consent_events'][],
  evidence: Map<string, string> | null,
  cx: ChainContext,
): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let prev: string | null = cx.from?.hash ?? null;
  let expectSeq = (cx.from?.seq ?? 0) + 1;
  let keyedSeen = false;
  const sealed = cx.sealed;
  let sealedMatched = !sealed;
  for (const e of events) {
    const seq = Number(e.seq);
    const at = { businessId: person.business_id, personId: person.id, eventId: e.id, seq };
    if (seq !== expectSeq) {
      problems.push({
        ...at,
        problem: `sequence jumps from ${expectSeq - 1} to ${seq}: ${seq - expectSeq} event(s) before ${e.id} were deleted`,
      });
    }
    if (e.prev_hash !== prev)
      problems.push({
        ...at,
        problem: `event ${e.id} does not link to the event before it (prev_hash mismatch): an event was deleted or altered`,
      });
    if (recomputeEventHash(ledger, e) !== e.hash)
      problems.push({ ...at, problem: `event ${e.id} was altered: its content no longer matches its hash` });
    if (hashScheme(e.hash) === 'keyed') keyedSeen = true;
    else {
      const why = keyedSeen
        ? 'it follows a keyed event'
        : !cx.legacy
          ? 'this business has no events from before keyed hashes'
          : Number(e.recorded_at) > Number(cx.legacy.legacy_until)
            ? 'it was recorded after keyed hashes began'
            : cx.businessSealed && (!sealed || seq > sealed.chain_seq)
              ? 'it is not covered by the seal that covered every unkeyed event'
              : null;
      if (why)
        problems.push({
          ...at,
          problem: `event ${e.id} carries an unkeyed hash although ${why}: the chain was recomputed without the key`,
        });
    }
    if (evidence) {
      const ev = evidence.get(e.id);
      if (ev !== undefined && sha256Hex(ev) !== e.evidence_hash)
        problems.push({ ...at, problem: `the evidence of event ${e.id} was altered` });
      if (ev === undefined && person.erased_at === null)
        problems.push({ ...at, problem: `the evidence of event ${e.id} was deleted` });
    }
    if (sealed && seq === sealed.chain_seq) {
      sealedMatched = true;
      if (e.hash !== sealed.chain_head) {
        problems.push({
          ...at,
          problem: `seal #${sealed.seal_seq} covers this chain up to event ${seq} with hash ${sealed.chain_head.slice(0, 15)}…, but event ${e.id} now has hash ${e.hash.slice(0, 15)}…: the chain was rewritten`,
        });
      }
    }
    prev = e.hash;
    expectSeq = seq + 1;
  }
  const last = events[events.length - 1];
  const lastAt = {
    businessId: person.business_id,
    personId: person.id,
    eventId: last?.id ?? null,
    seq: last ? Number(last.seq) : null,
  };
  if (Number(person.chain_seq) !== expectSeq - 1 || person.chain_head !== prev) {
    problems.push({
      ...lastAt,
      problem: `the person's chain should hold ${person.chain_seq} event(s) ending in hash ${person.chain_head?.slice(0, 15) ?? 'none'}…, but ${expectSeq - 1} remain${last ? ` ending at ${last.id}` : ''}: the latest event(s) were deleted`,
    });
  }
  if (sealed && !sealedMatched) {
    problems.push({
      ...lastAt,
      problem: `seal #${sealed.seal_seq} covers ${sealed.chain_seq} event(s) of this person, but only ${expectSeq - 1} remain: sealed events were deleted`,
    });
  }
  return problems;
}

/** The first keyed seal run went through every person (it covered every unkeyed event there was). */
export const isGenesisDone = (latest: SealRow | null) => !!latest && latest.seq > 0 && latest.scan_mark !== null;

export interface LedgerReport {
  ok: boolean;
  people: number;
  events: number;
  problems: ChainProblem[];
  /** Businesses whose seal chain was checked, with their newest seal. */
  seals: { businessId: string; seals: number; latest: number | null; latestAt: number | null }[];
  /** Not failures: what verify could not vouch for (for example events newer than the newest seal). */
  warnings: string[];
}

/**
 * Verifies the ledger: every person's chain (verifyPersonChain), and per business its seal chain, the heads the
 * newest seal covers (none may be missing, moved back or rewritten) and its counts (services/consent/seal-ledger.ts).
 * With `personId`, only that person's chain and sealed head.
 */
export async function verifyChains(
  q: Q,
  ledger: LedgerKey,
  opts: { businessId?: string; personId?: string; now?: number; onProgress?: (people: number) => void } = {},
): Promise<LedgerReport> {
  let people = 0;
  let events = 0;
  const problems: ChainProblem[] = [];
  const businesses = new Map<string, { legacy: SealRow | null; latest: SealRow | null; legacyEvents: number }>();
  const businessOf = async (id: string) => {
    let b = businesses.get(id);
    if (!b)
      businesses.set(id, (b = { legacy: await legacySeal(q, id), latest: await latestSeal(q, id), legacyEvents: 0 }));
    return b;
  };
  let after: { b: string; id: string } | null = null;
  for (;;) {
    let pq = q
      .selectFrom('people')
      .select(['business_id', 'id', 'chain_seq', 'chain_head', 'erased_at'])
      .orderBy('business_id')
      .orderBy('id')
      .limit(500);
    if (opts.businessId) pq = pq.where('business_id', '=', opts.businessId);
    if (opts.personId) pq = pq.where('id', '=', opts.personId);
    if (after) {
      const a = after;
      pq = pq.where((eb) =>
        eb.or([eb('business_id', '>', a.b), eb.and([eb('business_id', '=', a.b), eb('id', '>', a.id)])]),
      );
    }
    const batch = await pq.execute();
    if (batch.length === 0) break;
    for (const group of groupBy(batch, (p) => p.business_id)) {
      const businessId = group[0]!.business_id;
      const b = await businessOf(businessId);
      const ids = group.map((p) => p.id);
      const evs = await q
        .selectFrom('consent_events')
        .selectAll()
        .where('business_id', '=', businessId)
        .where('person_id', 'in', ids)
        .orderBy('person_id')
        .orderBy('seq')
        .execute();
      const evd = await q
        .selectFrom('consent_evidence')
        .select(['event_id', 'evidence'])
        .where('business_id', '=', businessId)
        .where('event_id', 'in', evs.map((e) => e.id).length ? evs.map((e) => e.id) : ['-'])
        .execute();
      const evidence = new Map(evd.map((r) => [r.event_id, r.evidence]));
      const heads = await headsOf(q, businessId, ids);
      const byPerson = new Map<string, DB['consent_events'][]>();
      for (const e of evs) (byPerson.get(e.person_id) ?? byPerson.set(e.person_id, []).get(e.person_id)!).push(e);
      for (const p of group) {
        const chain = byPerson.get(p.id) ?? [];
        let found = verifyPersonChain(
          ledger,
          { ...p, chain_seq: Number(p.chain_seq), erased_at: p.erased_at === null ? null : Number(p.erased_at) },
          chain,
          evidence,
          {
            legacy: b.legacy,
            sealed: heads.get(p.id) ?? null,
            businessSealed: isGenesisDone(b.latest),
          },
        );
        // On a live server the person row, the events and the sealed head are read one after another, so a write
        // or a seal in between can look like a gap: look at that one person again before reporting it.
        if (found.length > 0 && !opts.personId)
          found = (await verifyChains(q, ledger, { businessId, personId: p.id })).problems;
        problems.push(...found);
        for (const e of chain) if (hashScheme(e.hash) === 'legacy') b.legacyEvents += 1;
      }
      events += evs.length;
    }
    people += batch.length;
    opts.onProgress?.(people);
    const last = batch[batch.length - 1]!;
    after = { b: last.business_id, id: last.id };
    if (opts.personId) break;
  }
  const seals: LedgerReport['seals'] = [];
  const warnings: string[] = [];
  if (!opts.personId) {
    // Businesses with seals but no people left are checked too: everyone may have been deleted.
    const ids = opts.businessId
      ? [opts.businessId]
      : [...new Set([...businesses.keys(), ...(await sealedBusinessIds(q))])].sort();
    for (const id of ids) {
      const b = await businessOf(id);
      if (b.legacy && b.legacyEvents > b.legacy.legacy_events) {
        problems.push({
          businessId: id,
          personId: null,
          eventId: null,
          seq: null,
          problem: `${b.legacyEvents} events carry unkeyed hashes but only ${b.legacy.legacy_events} were written before keyed hashes began: chains were recomputed without the key`,
        });
      }
      const r = await verifySeals(q, ledger, id, opts.now !== undefined ? { now: opts.now } : {});
      problems.push(...r.problems);
      warnings.push(...r.warnings);
      seals.push({
        businessId: id,
        seals: r.seals,
        latest: b.latest?.seq ?? null,
        latestAt: b.latest?.sealed_at ?? null,
      });
    }
  }
  return { ok: problems.length === 0, people, events, problems, seals, warnings };
}

function groupBy<T>(xs: T[], key: (x: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const x of xs) (m.get(key(x)) ?? m.set(key(x), []).get(key(x))!).push(x);
  return [...m.values()];
}

export { stableJson };
