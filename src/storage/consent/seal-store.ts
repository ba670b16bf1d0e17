import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

type Q = Kysely<DB>;
export type SealRow = DB['ledger_seals'];
export type HeadRow = DB['ledger_heads'];

// The per-business seal chain and the chain heads its newest seal covers (services/consent/seal-ledger.ts). Sealing
// reads what the ledger already holds: nothing here is written on the opt-in path, so no row is hot.

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function toSeal(r: SealRow): SealRow {
  return {
    ...r,
    seq: Number(r.seq),
    sealed_at: Number(r.sealed_at),
    people: Number(r.people),
    events: Number(r.events),
    legacy_events: Number(r.legacy_events),
    legacy_until: num(r.legacy_until),
    changed: Number(r.changed),
    scan_mark: num(r.scan_mark),
  };
}

export async function latestSeal(q: Q, businessId: string): Promise<SealRow | null> {
  const r = await q
    .selectFrom('ledger_seals')
    .selectAll()
    .where('business_id', '=', businessId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? toSeal(r) : null;
}

export async function legacySeal(q: Q, businessId: string): Promise<SealRow | null> {
  const r = await q
    .selectFrom('ledger_seals')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('seq', '=', 0)
    .executeTakeFirst();
  return r ? toSeal(r) : null;
}

/** The seals of a business, oldest first, a page at a time. */
export async function* sealPages(q: Q, businessId: string, pageSize = 1000): AsyncGenerator<SealRow[]> {
  let after = -1;
  for (;;) {
    const rows = (
      await q
        .selectFrom('ledger_seals')
        .selectAll()
        .where('business_id', '=', businessId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(pageSize)
        .execute()
    ).map(toSeal);
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.seq;
    if (rows.length < pageSize) return;
  }
}

export async function headsOf(q: Q, businessId: string, personIds: string[]): Promise<Map<string, HeadRow>> {
  if (personIds.length === 0) return new Map();
  const rows = await q
    .selectFrom('ledger_heads')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('person_id', 'in', personIds)
    .execute();
  return new Map(
    rows.map((r) => [r.person_id, { ...r, chain_seq: Number(r.chain_seq), seal_seq: Number(r.seal_seq) }]),
  );
}

/** The covered heads of a business in person order, a page at a time. */
export async function* headPages(q: Q, businessId: string, pageSize = 2000): AsyncGenerator<HeadRow[]> {
  let after: string | null = null;
  for (;;) {
    let sel = q
      .selectFrom('ledger_heads')
      .selectAll()
      .where('business_id', '=', businessId)
      .orderBy('person_id')
      .limit(pageSize);
    if (after !== null) sel = sel.where('person_id', '>', after);
    const rows = (await sel.execute()).map((r) => ({
      ...r,
      chain_seq: Number(r.chain_seq),
      seal_seq: Number(r.seal_seq),
    }));
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.person_id;
    if (rows.length < pageSize) return;
  }
}

/** Covered heads whose person row is gone: a person deleted behind Optline's back. */
export async function headsWithoutPerson(q: Q, businessId: string, limit = 1000): Promise<HeadRow[]> {
  const rows = await q
    .selectFrom('ledger_heads as h')
    .leftJoin('people as p', (j) => j.onRef('p.business_id', '=', 'h.business_id').onRef('p.id', '=', 'h.person_id'))
    .selectAll('h')
    .where('h.business_id', '=', businessId)
    .where('p.id', 'is', null)
    .orderBy('h.person_id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, chain_seq: Number(r.chain_seq), seal_seq: Number(r.seal_seq) }));
}

/** Candidates of a full scan: people with at least one event, in id order. */
export async function peoplePage(
  q: Q,
  businessId: string,
  after: string | null,
  limit: number,
): Promise<{ id: string; chain_seq: number; chain_head: string | null }[]> {
  let sel = q
    .selectFrom('people')
    .select(['id', 'chain_seq', 'chain_head'])
    .where('business_id', '=', businessId)
    .where('chain_seq', '>', 0)
    .orderBy('id')
    .limit(limit);
  if (after !== null) sel = sel.where('id', '>', after);
  return (await sel.execute()).map((r) => ({ ...r, chain_seq: Number(r.chain_seq) }));
}

/** Candidates of an incremental scan: the events recorded since a time, in (recorded_at, id) order. */
export async function eventsSincePage(
  q: Q,
  businessId: string,
  since: number,
  after: { at: number; id: string } | null,
  limit: number,
): Promise<{ id: string; person_id: string; recorded_at: number }[]> {
  let sel = q
    .selectFrom('consent_events')
    .select(['id', 'person_id', 'recorded_at'])
    .where('business_id', '=', businessId)
    .where('recorded_at', '>=', since)
    .orderBy('recorded_at')
    .orderBy('id')
    .limit(limit);
  if (after) {
    const a = after;
    sel = sel
      .where('recorded_at', '>=', a.at)
      .where((eb) => eb.or([eb('recorded_at', '>', a.at), eb('id', '>', a.id)]));
  }
  return (await sel.execute()).map((r) => ({ ...r, recorded_at: Number(r.recorded_at) }));
}

export async function peopleByIds(
  q: Q,
  businessId: string,
  ids: string[],
): Promise<Map<string, { id: string; chain_seq: number; chain_head: string | null }>> {
  if (ids.length === 0) return new Map();
  const rows = await q
    .selectFrom('people')
    .select(['id', 'chain_seq', 'chain_head'])
    .where('business_id', '=', businessId)
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, { ...r, chain_seq: Number(r.chain_seq) }]));
}

/** The events of these people after `fromSeq` (the lowest sealed position among them), in chain order. */
export async function eventsAfter(
  q: Q,
  businessId: string,
  personIds: string[],
  fromSeq: number,
): Promise<DB['consent_events'][]> {
  if (personIds.length === 0) return [];
  return q
    .selectFrom('consent_events')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('person_id', 'in', personIds)
    .where('seq', '>', fromSeq)
    .orderBy('person_id')
    .orderBy('seq')
    .execute();
}

/** Writes one seal and the heads it moved; the caller's transaction re-checked that `seal.seq` is next. */
export async function writeSeal(q: Q, seal: SealRow, heads: HeadRow[]): Promise<void> {
  for (let i = 0; i < heads.length; i += 500) {
    const chunk = heads.slice(i, i + 500);
    await q
      .insertInto('ledger_heads')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['business_id', 'person_id']).doUpdateSet((eb) => ({
          chain_seq: eb.ref('excluded.chain_seq'),
          chain_head: eb.ref('excluded.chain_head'),
          seal_seq: eb.ref('excluded.seal_seq'),
        })),
      )
      .execute();
  }
  await q.insertInto('ledger_seals').values(seal).execute();
}

export async function listBusinessIds(q: Q): Promise<string[]> {
  return (await q.selectFrom('businesses').select('id').orderBy('id').execute()).map((r) => r.id);
}
