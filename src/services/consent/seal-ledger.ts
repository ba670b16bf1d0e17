import type { Kysely } from 'kysely';
import { sha256Hex as sha256, type LedgerKey } from '../../lib/crypto.js';
import { isUniqueViolation } from '../../storage/db.js';
import type { DB } from '../../storage/schema.js';
import {
  eventsAfter,
  eventsSincePage,
  headPages,
  headsOf,
  headsWithoutPerson,
  latestSeal,
  legacySeal,
  listBusinessIds,
  peopleByIds,
  peoplePage,
  sealPages,
  writeSeal,
  type HeadRow,
  type SealRow,
} from '../../storage/consent/seal-store.js';
import type { ServiceContext } from '../context.js';
import { verifyPersonChain, type ChainProblem } from './person-history.js';

type Q = Kysely<DB>;

/**
 * Business-level tamper evidence. Each person's events form a keyed hash chain (storage/consent/consent-store.ts); a
 * seal commits, for one business, to the head of every chain at that moment:
 *
 *   seal n = HMAC(seal key, [business, n, time, people, events, legacy allowance, digest, prev seal's hash])
 *   digest = Σ HMAC(seal key, [business, person, chain_seq, chain_head]) mod 2^256 over every covered person
 *
 * `ledger_heads` holds the covered (chain_seq, chain_head) of each person; the digest, the count of people and
 * the sum of chain lengths in the newest seal must match it, and each person's chain must still reach its
 * covered head. So after a seal, deleting a person (with or without their head row), an event, or a whole
 * chain, or rewriting one, is found by `optline verify`, and a seal cannot be edited or made without the key.
 *
 * Sealing reads only what the ledger already holds (the events recorded since the last seal, by their
 * `(business_id, recorded_at)` index), so the opt-in path writes nothing more and no row is hot. It moves a
 * person's covered head only after checking the events in between; a broken chain is left uncovered, logged,
 * and found by verify. A seal covers at most SEAL_BATCH people, so each transaction stays short.
 */

const SEAL_BATCH = 2000;
const SCAN_PAGE = 2000;
/** Events recorded this long before the last scan are looked at again: a transaction still open then commits late. */
export const SEAL_GRACE_MS = 10 * 60_000;
const MOD = 1n << 256n;

export function sealCanonical(s: Omit<SealRow, 'hash'>): string {
  // Must match migrations/0003-ledger-seals.ts, which wrote the seal 0 rows.
  return JSON.stringify([
    'optline-seal',
    s.business_id,
    s.seq,
    s.scheme,
    s.sealed_at,
    s.people,
    s.events,
    s.legacy_events,
    s.legacy_until,
    s.digest,
    s.changed,
    s.scan_mark,
    s.prev_hash,
  ]);
}

const leafCanonical = (businessId: string, personId: string, seq: number, head: string) =>
  JSON.stringify([businessId, personId, seq, head]);
const leafValue = (ledger: LedgerKey, h: Pick<HeadRow, 'business_id' | 'person_id' | 'chain_seq' | 'chain_head'>) =>
  BigInt(
    `0x${ledger.leafMac(leafCanonical(h.business_id, h.person_id, Number(h.chain_seq), h.chain_head)).toString('hex')}`,
  );
const digestOf = (v: bigint) => v.toString(16).padStart(64, '0');
const digestValue = (d: string) => (d ? BigInt(`0x${d}`) : 0n);

function expectedSealHash(ledger: LedgerKey, s: SealRow): string {
  const { hash: _h, ...rest } = s;
  return s.scheme === 'legacy' ? sha256(sealCanonical(rest)) : ledger.sealHash(sealCanonical(rest));
}

export interface SealResult {
  businessId: string;
  seals: number;
  /** People whose covered head moved. */
  covered: number;
  /** People left uncovered because their chain failed its check. */
  refused: { personId: string; problem: string }[];
  latest: { seq: number; hash: string } | null;
}

/**
 * Seals one business: covers the new heads of every person whose chain grew since the newest seal (all people,
 * for the first seal or with `full`). Two sealers at once: the second's seal number is taken, it stops.
 */
export async function sealBusiness(
  ctx: ServiceContext,
  businessId: string,
  opts: { full?: boolean } = {},
): Promise<SealResult> {
  const q = ctx.database.db;
  const ledger = ctx.keyring.ledger;
  const t0 = ctx.clock.now();
  const out: SealResult = { businessId, seals: 0, covered: 0, refused: [], latest: null };
  let prev = await latestSeal(q, businessId);
  const legacy = await legacySeal(q, businessId);
  const startMark = prev && prev.seq > 0 ? prev.scan_mark : null;
  const full = opts.full || startMark === null;
  let pending: HeadRow[] = [];
  let pendingOld = new Map<string, HeadRow>();

  const flush = async (final: boolean): Promise<boolean> => {
    if (pending.length === 0) return true;
    const base = prev;
    let value = digestValue(base?.scheme === 'k1' ? base.digest : '');
    let people = base?.scheme === 'k1' ? base.people : 0;
    let events = base?.scheme === 'k1' ? base.events : 0;
    for (const h of pending) {
      const old = pendingOld.get(h.person_id);
      if (old) {
        value -= leafValue(ledger, old);
        events -= old.chain_seq;
      } else people += 1;
      value += leafValue(ledger, h);
      events += h.chain_seq;
    }
    const seq = (base?.seq ?? 0) + 1;
    const seal: Omit<SealRow, 'hash'> = {
      business_id: businessId,
      seq,
      scheme: 'k1',
      sealed_at: ctx.clock.now(),
      people,
      events,
      legacy_events: legacy?.legacy_events ?? 0,
      legacy_until: legacy?.legacy_until ?? null,
      digest: digestOf(((value % MOD) + MOD) % MOD),
      changed: pending.length,
      // Only the run's last seal moves the scan mark: a run cut short is scanned again from the old one.
      scan_mark: final ? t0 : base && base.seq > 0 ? base.scan_mark : null,
      prev_hash: base?.hash ?? null,
    };
    const row: SealRow = { ...seal, hash: ledger.sealHash(sealCanonical(seal)) };
    const heads = pending.map((h) => ({ ...h, seal_seq: seq }));
    try {
      await ctx.database.transaction(async (trx) => {
        const now = await latestSeal(trx, businessId);
        if ((now?.seq ?? -1) !== (base?.seq ?? -1)) throw new SealRace();
        await writeSeal(trx, row, heads);
      });
    } catch (e) {
      if (e instanceof SealRace || isUniqueViolation(e)) return false;
      throw e;
    }
    prev = row;
    out.seals += 1;
    out.covered += pending.length;
    out.latest = { seq, hash: row.hash };
    pending = [];
    pendingOld = new Map();
    return true;
  };

  const consider = async (ids: string[]): Promise<boolean> => {
    if (ids.length === 0) return true;
    const heads = await headsOf(q, businessId, ids);
    const rows = await peopleByIds(q, businessId, ids);
    const changed = [...rows.values()].filter(
      (p) => p.chain_head !== null && p.chain_seq !== (heads.get(p.id)?.chain_seq ?? 0),
    );
    if (changed.length === 0) return true;
    const from = Math.min(...changed.map((p) => heads.get(p.id)?.chain_seq ?? 0));
    const evs = await eventsAfter(
      q,
      businessId,
      changed.map((p) => p.id),
      from,
    );
    const byPerson = new Map<string, DB['consent_events'][]>();
    for (const e of evs) (byPerson.get(e.person_id) ?? byPerson.set(e.person_id, []).get(e.person_id)!).push(e);
    for (const p of changed) {
      const h = heads.get(p.id) ?? null;
      // Read the person first and the events after: events beyond what the person row said are newer; the next seal
      // takes them.
      const chain = (byPerson.get(p.id) ?? []).filter(
        (e) => Number(e.seq) > (h?.chain_seq ?? 0) && Number(e.seq) <= p.chain_seq,
      );
      const problems =
        h && p.chain_seq < h.chain_seq
          ? [{ problem: `the chain is shorter (${p.chain_seq}) than seal #${h.seal_seq} covers (${h.chain_seq})` }]
          : verifyPersonChain(ledger, { ...p, business_id: businessId, erased_at: null }, chain, null, {
              legacy,
              sealed: null,
              businessSealed: startMark !== null,
              from: h ? { seq: h.chain_seq, hash: h.chain_head } : null,
            });
      if (problems.length > 0) {
        out.refused.push({ personId: p.id, problem: problems[0]!.problem });
        continue;
      }
      if (h) pendingOld.set(p.id, h);
      pending.push({
        business_id: businessId,
        person_id: p.id,
        chain_seq: p.chain_seq,
        chain_head: p.chain_head!,
        seal_seq: 0,
      });
      if (pending.length >= SEAL_BATCH && !(await flush(false))) return false;
    }
    return true;
  };

  if (full) {
    let after: string | null = null;
    for (;;) {
      const page = await peoplePage(q, businessId, after, SCAN_PAGE);
      if (page.length === 0) break;
      if (!(await consider(page.map((p) => p.id)))) return out;
      after = page[page.length - 1]!.id;
      if (page.length < SCAN_PAGE) break;
    }
  } else {
    let after: { at: number; id: string } | null = null;
    const seen = new Set<string>();
    for (;;) {
      const page = await eventsSincePage(q, businessId, startMark! - SEAL_GRACE_MS, after, SCAN_PAGE);
      if (page.length === 0) break;
      const ids = [...new Set(page.map((e) => e.person_id))].filter((id) => !seen.has(id));
      for (const id of ids) seen.add(id);
      if (!(await consider(ids))) return out;
      const last = page[page.length - 1]!;
      after = { at: last.recorded_at, id: last.id };
      if (page.length < SCAN_PAGE) break;
    }
  }
  await flush(true);
  if (out.refused.length > 0) {
    ctx.logger.warn(
      { businessId, refused: out.refused.slice(0, 20), count: out.refused.length },
      'ledger seal: chains that fail their check were left uncovered; run optline verify',
    );
  }
  if (out.latest)
    ctx.logger.info({ businessId, seal: out.latest.seq, hash: out.latest.hash, covered: out.covered }, 'ledger sealed');
  return out;
}

class SealRace extends Error {}

/** Seals every business (or one). */
export async function sealLedger(
  ctx: ServiceContext,
  opts: { businessId?: string; full?: boolean } = {},
): Promise<SealResult[]> {
  const ids = opts.businessId ? [opts.businessId] : await listBusinessIds(ctx.database.db);
  const out: SealResult[] = [];
  for (const id of ids) out.push(await sealBusiness(ctx, id, { full: opts.full ?? false }));
  return out;
}

export async function sealedBusinessIds(q: Q): Promise<string[]> {
  return (await q.selectFrom('ledger_seals').select('business_id').distinct().execute()).map((r) => r.business_id);
}

/**
 * Checks one business's seal chain (numbers, links, keyed hashes) and that the heads its newest seal covers
 * are all there (digest, people, events), and names each covered person whose row is gone.
 */
export async function verifySeals(
  q: Q,
  ledger: LedgerKey,
  businessId: string,
  opts: { now?: number } = {},
): Promise<{ problems: ChainProblem[]; warnings: string[]; seals: number }> {
  const problems: ChainProblem[] = [];
  const warnings: string[] = [];
  const at = (problem: string, personId: string | null = null): ChainProblem => ({
    businessId,
    personId,
    eventId: null,
    seq: null,
    problem,
  });
  let prev: SealRow | null = null;
  let count = 0;
  for await (const page of sealPages(q, businessId)) {
    for (const s of page) {
      count += 1;
      const expectSeq = prev ? prev.seq + 1 : s.seq === 0 ? 0 : 1;
      if (s.seq !== expectSeq)
        problems.push(
          at(`seal numbers jump from ${expectSeq - 1} to ${s.seq}: ${s.seq - expectSeq} seal(s) were deleted`),
        );
      if (s.scheme !== 'legacy' && s.scheme !== 'k1')
        problems.push(at(`seal #${s.seq} has an unknown scheme "${s.scheme}"`));
      if (s.scheme === 'legacy' && s.seq !== 0)
        problems.push(at(`seal #${s.seq} claims to be the legacy seal, which only seal #0 can be`));
      if (expectedSealHash(ledger, s) !== s.hash)
        problems.push(at(`seal #${s.seq} was altered or made without the key: its content no longer matches its hash`));
      if (s.prev_hash !== (prev?.hash ?? null))
        problems.push(at(`seal #${s.seq} does not link to the seal before it: a seal was deleted or altered`));
      prev = s;
    }
  }
  const latest = prev && prev.scheme === 'k1' ? prev : null;
  if (latest) {
    let people = 0;
    let events = 0;
    let value = 0n;
    for await (const page of headPages(q, businessId)) {
      for (const h of page) {
        people += 1;
        events += h.chain_seq;
        value += leafValue(ledger, h);
        if (h.seal_seq > latest.seq)
          problems.push(
            at(
              `person ${h.person_id}'s covered head names seal #${h.seal_seq}, newer than the newest seal #${latest.seq}: seals were deleted`,
              h.person_id,
            ),
          );
      }
    }
    const digest = digestOf(value % MOD);
    if (people !== latest.people || events !== latest.events || digest !== latest.digest) {
      const lost = [
        people < latest.people ? `${latest.people - people} person(s)` : null,
        events < latest.events ? `${latest.events - events} event(s)` : null,
      ]
        .filter(Boolean)
        .join(' and ');
      const now = `${people} people and ${events} events${digest !== latest.digest ? ' and no longer match its digest' : ''}`;
      const what = lost ? `${lost} were deleted` : 'covered heads were deleted, added or altered';
      problems.push(
        at(
          `seal #${latest.seq} covers ${latest.people} people and ${latest.events} events, but the covered heads now hold ${now}: ${what}`,
        ),
      );
    }
    for (const h of await headsWithoutPerson(q, businessId)) {
      problems.push({
        businessId,
        personId: h.person_id,
        eventId: null,
        seq: h.chain_seq,
        problem: `person ${h.person_id}, covered by seal #${h.seal_seq} with ${h.chain_seq} event(s), was deleted with their whole chain`,
      });
    }
    if (opts.now !== undefined && latest.scan_mark !== null) {
      const newest = await q
        .selectFrom('consent_events')
        .select((eb) => eb.fn.max('recorded_at').as('at'))
        .where('business_id', '=', businessId)
        .executeTakeFirst();
      const newestAt = newest?.at === null || newest?.at === undefined ? null : Number(newest.at);
      if (newestAt !== null && newestAt > latest.scan_mark && opts.now - latest.sealed_at > 2 * SEAL_GRACE_MS) {
        warnings.push(
          `business ${businessId}: events recorded after seal #${latest.seq} (${new Date(latest.sealed_at).toISOString()}) are not sealed yet; until they are, deleting them whole (or a person created since) cannot be detected. Run optline seal, or check that the server's housekeeping runs.`,
        );
      }
    }
  } else {
    const any = await q
      .selectFrom('consent_events')
      .select('id')
      .where('business_id', '=', businessId)
      .limit(1)
      .executeTakeFirst();
    if (any)
      warnings.push(
        `business ${businessId} has no keyed seal yet: until it has, deleting a whole person or the newest events of a chain cannot be detected. Run optline seal.`,
      );
  }
  return { problems, warnings, seals: count };
}
