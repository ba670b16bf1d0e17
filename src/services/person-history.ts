import { fail } from '../domain/errors.js';
import { canonicalEvent, stableJson } from '../domain/consent.js';
import { sha256Hex } from '../lib/crypto.js';
import { parseJson } from '../storage/json.js';
import type { DB } from '../storage/schema.js';
import type { Kysely } from 'kysely';
import type { ServiceContext } from './context.js';
import { toText, type ConsentText } from './manage-texts.js';

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
  id: r.id, phone: r.phone_e164, waId: r.wa_id, bsuid: r.bsuid, country: r.country, language: r.language, timezone: r.timezone,
  createdAt: Number(r.created_at), erasedAt: r.erased_at === null ? null : Number(r.erased_at),
  lastInboundAt: r.last_inbound_at === null ? null : Number(r.last_inbound_at),
  unreachableAt: r.unreachable_at === null ? null : Number(r.unreachable_at), eventCount: Number(r.chain_seq),
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
  const r = await q.selectFrom('people').selectAll().where('business_id', '=', businessId).where('id', '=', personId).executeTakeFirst();
  if (!r) return fail('NOT_FOUND', 'No such person.', 'personId');
  return r;
}

export async function personEvents(q: Q, businessId: string, personId: string): Promise<ConsentEvent[]> {
  const rows = await q
    .selectFrom('consent_events as e')
    .leftJoin('consent_evidence as v', (j) => j.onRef('v.business_id', '=', 'e.business_id').onRef('v.event_id', '=', 'e.id'))
    .selectAll('e')
    .select('v.evidence')
    .where('e.business_id', '=', businessId)
    .where('e.person_id', '=', personId)
    .orderBy('e.seq')
    .execute();
  return rows.map((r) => ({
    id: r.id, seq: Number(r.seq), type: r.type, scope: r.scope, topics: parseJson<string[]>(r.topic_keys, []), channel: r.channel,
    action: r.action, textHash: r.text_hash, occurredAt: Number(r.occurred_at), recordedAt: Number(r.recorded_at),
    sourceRef: r.source_ref, actor: r.actor, evidence: r.evidence === null ? null : parseJson<Record<string, unknown>>(r.evidence, {}),
    evidenceHash: r.evidence_hash, prevHash: r.prev_hash, hash: r.hash,
  }));
}

export interface ChainProblem {
  personId: string;
  eventId: string | null;
  seq: number | null;
  problem: string;
}

/** Checks one person's chain: every hash recomputed, every link and sequence number, and the stored head. */
export function verifyPersonChain(
  person: { id: string; business_id: string; chain_seq: number; chain_head: string | null; erased_at: number | null },
  events: DB['consent_events'][],
  evidence: Map<string, string>,
): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let prev: string | null = null;
  let expectSeq = 1;
  for (const e of events) {
    const seq = Number(e.seq);
    const at = { personId: person.id, eventId: e.id, seq };
    if (seq !== expectSeq) {
      problems.push({ ...at, problem: `sequence jumps from ${expectSeq - 1} to ${seq}: ${seq - expectSeq} event(s) before ${e.id} were deleted` });
    }
    if (e.prev_hash !== prev) problems.push({ ...at, problem: `event ${e.id} does not link to the event before it (prev_hash mismatch): an event was deleted or altered` });
    const { hash, ...fields } = e;
    const recomputed = sha256Hex(canonicalEvent({ ...fields, seq, occurred_at: Number(e.occurred_at), recorded_at: Number(e.recorded_at) }));
    if (recomputed !== hash) problems.push({ ...at, problem: `event ${e.id} was altered: its content no longer matches its hash` });
    const ev = evidence.get(e.id);
    if (ev !== undefined && sha256Hex(ev) !== e.evidence_hash) problems.push({ ...at, problem: `the evidence of event ${e.id} was altered` });
    if (ev === undefined && person.erased_at === null) problems.push({ ...at, problem: `the evidence of event ${e.id} was deleted` });
    prev = hash;
    expectSeq = seq + 1;
  }
  if (Number(person.chain_seq) !== events.length || person.chain_head !== prev) {
    const last = events[events.length - 1];
    problems.push({
      personId: person.id, eventId: last?.id ?? null, seq: last ? Number(last.seq) : null,
      problem: `the person's chain should hold ${person.chain_seq} event(s) ending in hash ${person.chain_head?.slice(0, 12) ?? 'none'}…, but ${events.length} remain${last ? ` ending at ${last.id}` : ''}: the latest event(s) were deleted`,
    });
  }
  return problems;
}

export async function verifyChains(
  q: Q,
  opts: { businessId?: string; personId?: string; onProgress?: (people: number) => void } = {},
): Promise<{ ok: boolean; people: number; events: number; problems: ChainProblem[] }> {
  let people = 0;
  let events = 0;
  const problems: ChainProblem[] = [];
  let after: { b: string; id: string } | null = null;
  for (;;) {
    let pq = q.selectFrom('people').select(['business_id', 'id', 'chain_seq', 'chain_head', 'erased_at']).orderBy('business_id').orderBy('id').limit(500);
    if (opts.businessId) pq = pq.where('business_id', '=', opts.businessId);
    if (opts.personId) pq = pq.where('id', '=', opts.personId);
    if (after) {
      const a = after;
      pq = pq.where((eb) => eb.or([eb('business_id', '>', a.b), eb.and([eb('business_id', '=', a.b), eb('id', '>', a.id)])]));
    }
    const batch = await pq.execute();
    if (batch.length === 0) break;
    for (const group of groupBy(batch, (p) => p.business_id)) {
      const ids = group.map((p) => p.id);
      const evs = await q.selectFrom('consent_events').selectAll().where('business_id', '=', group[0]!.business_id).where('person_id', 'in', ids).orderBy('person_id').orderBy('seq').execute();
      const evd = await q.selectFrom('consent_evidence').select(['event_id', 'evidence']).where('business_id', '=', group[0]!.business_id).where('event_id', 'in', evs.map((e) => e.id).length ? evs.map((e) => e.id) : ['-']).execute();
      const evidence = new Map(evd.map((r) => [r.event_id, r.evidence]));
      const byPerson = new Map<string, DB['consent_events'][]>();
      for (const e of evs) (byPerson.get(e.person_id) ?? byPerson.set(e.person_id, []).get(e.person_id)!).push(e);
      for (const p of group) problems.push(...verifyPersonChain({ ...p, chain_seq: Number(p.chain_seq), erased_at: p.erased_at === null ? null : Number(p.erased_at) }, byPerson.get(p.id) ?? [], evidence));
      events += evs.length;
    }
    people += batch.length;
    opts.onProgress?.(people);
    const last = batch[batch.length - 1]!;
    after = { b: last.business_id, id: last.id };
    if (opts.personId) break;
  }
  return { ok: problems.length === 0, people, events, problems };
}

function groupBy<T>(xs: T[], key: (x: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const x of xs) (m.get(key(x)) ?? m.set(key(x), []).get(key(x))!).push(x);
  return [...m.values()];
}

/** Everything a regulator may ask about one person: every event with its evidence and text, and the chain check. */
export async function exportProof(ctx: ServiceContext, businessId: string, personId: string) {
  const q = ctx.database.db;
  const p = await getPersonOrFail(q, businessId, personId);
  const business = await q.selectFrom('businesses').select(['id', 'slug', 'display_name']).where('id', '=', businessId).executeTakeFirstOrThrow();
  const events = await personEvents(q, businessId, personId);
  const hashes = [...new Set(events.map((e) => e.textHash).filter((h): h is string => !!h))];
  const texts: ConsentText[] = hashes.length
    ? (await q.selectFrom('consent_texts').selectAll().where('business_id', '=', businessId).where('hash', 'in', hashes).execute()).map(toText)
    : [];
  const chain = await verifyChains(q, { businessId, personId });
  const state = await q
    .selectFrom('consent_state as s')
    .innerJoin('topics as t', (j) => j.onRef('t.business_id', '=', 's.business_id').onRef('t.id', '=', 's.topic_id'))
    .select(['t.key', 's.status', 's.decided_at', 's.event_id'])
    .where('s.business_id', '=', businessId)
    .where('s.person_id', '=', personId)
    .execute();
  return {
    generatedAt: new Date(ctx.clock.now()).toISOString(),
    business: { id: business.id, slug: business.slug, displayName: business.display_name },
    person: toPerson(p),
    state: state.map((s) => ({ topic: s.key, status: s.status, decidedAt: Number(s.decided_at), eventId: s.event_id })),
    events,
    texts,
    chain: { ok: chain.ok, events: chain.events, problems: chain.problems },
    howToVerify:
      'Each event hash is SHA-256 over the JSON array [business_id, id, person_id, seq, type, scope, topic_keys, channel, action, text_hash, occurred_at, recorded_at, source_ref, actor, evidence_hash, prev_hash]; evidence_hash is SHA-256 over the evidence JSON with sorted keys; prev_hash is the hash of the event before.',
  };
}

export { stableJson };
