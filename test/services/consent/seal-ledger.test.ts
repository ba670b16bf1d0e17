import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence } from '../../helpers/seed.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { verifyChains } from '../../../src/services/consent/person-history.js';
import { sealBusiness, sealLedger } from '../../../src/services/consent/seal-ledger.js';
import { canonicalEvent } from '../../../src/domain/consent/model.js';
import { sha256Hex } from '../../../src/lib/crypto.js';
import type { Database } from '../../../src/storage/db.js';
import * as m0003 from '../../../src/storage/migrations/0003-ledger-seals.js';

type Ctx = ReturnType<typeof testContext>;

/** A business with three people (four events between them), as the API would record them. */
async function ledgerOf(ctx: Ctx) {
  const { business, text } = await seedBusiness(ctx);
  const base = {
    channel: 'web' as const,
    action: 'checked_box',
    textHash: text.hash,
    evidence: webEvidence,
    actor: 't',
  };
  const a = await recordOptIn(ctx, business.id, { ...base, person: { phone: '+447911123456' }, topics: ['delivery'] });
  ctx.clock.advance(1000);
  await recordOptOut(ctx, business.id, {
    person: { phone: '+447911123456' },
    scope: 'all',
    channel: 'web',
    action: 'clicked_link',
    evidence: {},
    actor: 't',
  });
  const b = await recordOptIn(ctx, business.id, { ...base, person: { phone: '+447911123457' }, topics: ['billing'] });
  const c = await recordOptIn(ctx, business.id, {
    ...base,
    person: { phone: '+447911123458' },
    topics: ['billing', 'delivery'],
  });
  return { business, a: a.personId, b: b.personId, c: c.personId, base };
}

const verify = (ctx: Ctx, businessId: string) =>
  verifyChains(ctx.database.db, ctx.keyring.ledger, { businessId, now: ctx.clock.now() });
const problemsText = (r: { problems: { problem: string }[] }) => r.problems.map((p) => p.problem).join('\n');

async function deletePerson(database: Database, businessId: string, personId: string) {
  const db = database.db;
  const ids = (
    await db
      .selectFrom('consent_events')
      .select('id')
      .where('business_id', '=', businessId)
      .where('person_id', '=', personId)
      .execute()
  ).map((r) => r.id);
  await db.deleteFrom('consent_evidence').where('business_id', '=', businessId).where('event_id', 'in', ids).execute();
  await db
    .deleteFrom('consent_state')
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .execute();
  await db.deleteFrom('messages').where('business_id', '=', businessId).where('person_id', '=', personId).execute();
  await db
    .deleteFrom('consent_events')
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .execute();
  await db.deleteFrom('people').where('business_id', '=', businessId).where('id', '=', personId).execute();
}

/**
 * What someone with write access but without the master key can do: recompute every hash of a chain as plain SHA-256.
 */
async function recomputePlain(
  database: Database,
  businessId: string,
  personId: string,
  edit: (e: Record<string, unknown>) => void,
) {
  const db = database.db;
  const evs = await db
    .selectFrom('consent_events')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .orderBy('seq')
    .execute();
  let prev: string | null = null;
  for (const e of evs) {
    const row = {
      ...e,
      seq: Number(e.seq),
      occurred_at: Number(e.occurred_at),
      recorded_at: Number(e.recorded_at),
      prev_hash: prev,
    };
    edit(row);
    const hash = sha256Hex(canonicalEvent(row));
    await db
      .updateTable('consent_events')
      .set({ occurred_at: row.occurred_at, prev_hash: prev, hash })
      .where('business_id', '=', businessId)
      .where('id', '=', e.id)
      .execute();
    prev = hash;
  }
  await db
    .updateTable('people')
    .set({ chain_head: prev })
    .where('business_id', '=', businessId)
    .where('id', '=', personId)
    .execute();
}

forEachDialect('ledger: keyed hashes and business seals', (db) => {
  it('an untouched ledger verifies before and after seals, and new events are keyed (k1:)', async () => {
    const ctx = testContext(db());
    const { business, a, base } = await ledgerOf(ctx);
    const before = await verify(ctx, business.id);
    assert.equal(before.ok, true, problemsText(before));
    assert.match(before.warnings.join('\n'), /no keyed seal yet/);
    const first = await sealBusiness(ctx, business.id);
    assert.deepEqual([first.seals, first.covered, first.refused.length], [1, 3, 0]);
    ctx.clock.advance(60_000);
    await recordOptIn(ctx, business.id, { ...base, person: { personId: a }, topics: ['billing'] });
    const second = await sealBusiness(ctx, business.id);
    assert.deepEqual([second.seals, second.covered], [1, 1], 'only the chain that grew is sealed again');
    assert.equal((await sealBusiness(ctx, business.id)).seals, 0, 'nothing new, no seal');
    const after = await verify(ctx, business.id);
    assert.equal(after.ok, true, problemsText(after));
    assert.deepEqual(after.warnings, []);
    assert.deepEqual(
      after.seals.map((s) => [s.seals, s.latest]),
      [[2, 2]],
    );
    const hashes = await db()
      .db.selectFrom('consent_events')
      .select('hash')
      .where('business_id', '=', business.id)
      .execute();
    assert.ok(
      hashes.every((h) => h.hash.startsWith('k1:')),
      'every new event hash is keyed',
    );
  });

  it('deleting a person with all their events, evidence and state after a seal fails verify, naming the business and the loss', async () => {
    const ctx = testContext(db());
    const { business, b } = await ledgerOf(ctx);
    await sealLedger(ctx, { businessId: business.id });
    await deletePerson(db(), business.id, b);
    const r = await verify(ctx, business.id);
    assert.equal(r.ok, false);
    const lost = r.problems.find((p) => p.personId === b);
    assert.ok(lost, problemsText(r));
    assert.equal(lost.businessId, business.id);
    assert.match(lost.problem, new RegExp(`person ${b}, covered by seal #1 with 1 event\\(s\\), was deleted`));

    // Deleting the covered head as well leaves the seal's counts and digest to catch it.
    await db()
      .db.deleteFrom('ledger_heads')
      .where('business_id', '=', business.id)
      .where('person_id', '=', b)
      .execute();
    const r2 = await verify(ctx, business.id);
    assert.equal(r2.ok, false);
    assert.ok(
      r2.problems.some(
        (p) =>
          p.businessId === business.id &&
          p.personId === null &&
          /seal #1 covers 3 people and 4 events, but the covered heads now hold 2 people and 3 events .*1 person\(s\) and 1 event\(s\) were deleted/.test(
            p.problem,
          ),
      ),
      problemsText(r2),
    );
  });

  it('deleting one event is found: the newest (with the person row rewound) after a seal, one in the middle at any time', async () => {
    const ctx = testContext(db());
    const { business, a, c } = await ledgerOf(ctx);
    await sealBusiness(ctx, business.id);
    const evs = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .where('person_id', '=', a)
      .orderBy('seq')
      .execute();
    assert.equal(evs.length, 2);
    await db()
      .db.deleteFrom('consent_evidence')
      .where('business_id', '=', business.id)
      .where('event_id', '=', evs[1]!.id)
      .execute();
    await db()
      .db.deleteFrom('consent_events')
      .where('business_id', '=', business.id)
      .where('id', '=', evs[1]!.id)
      .execute();
    await db()
      .db.updateTable('people')
      .set({ chain_seq: 1, chain_head: evs[0]!.hash })
      .where('business_id', '=', business.id)
      .where('id', '=', a)
      .execute();
    const r = await verify(ctx, business.id);
    assert.equal(r.ok, false);
    assert.ok(
      r.problems.some(
        (p) => p.personId === a && /seal #1 covers 2 event\(s\) of this person, but only 1 remain/.test(p.problem),
      ),
      problemsText(r),
    );

    // Unsealed: a new person's middle event deleted is found by the keyed links alone.
    const { business: other, base } = await ledgerOf(ctx).then(async (l) => ({ business: l.business, base: l.base }));
    const p = await recordOptIn(ctx, other.id, { ...base, person: { phone: '+447911123499' }, topics: ['delivery'] });
    await recordOptIn(ctx, other.id, { ...base, person: { personId: p.personId }, topics: ['billing'] });
    await recordOptIn(ctx, other.id, { ...base, person: { personId: p.personId }, topics: ['delivery', 'billing'] });
    const mid = await db()
      .db.selectFrom('consent_events')
      .select('id')
      .where('business_id', '=', other.id)
      .where('person_id', '=', p.personId)
      .where('seq', '=', 2)
      .executeTakeFirstOrThrow();
    await db().db.deleteFrom('consent_events').where('business_id', '=', other.id).where('id', '=', mid.id).execute();
    const r2 = await verify(ctx, other.id);
    assert.equal(r2.ok, false);
    assert.ok(
      r2.problems.some((x) => x.personId === p.personId && /sequence jumps from 1 to 3/.test(x.problem)),
      problemsText(r2),
    );
    void c;
  });

  it('a chain rewritten and recomputed with plain SHA-256 (no key) is found, sealed or not', async () => {
    const ctx = testContext(db());
    const { business, a, c } = await ledgerOf(ctx);
    // Not sealed yet: the business has no events from before keyed hashes, so an unkeyed hash is forged.
    await recomputePlain(db(), business.id, c, (e) => {
      e.occurred_at = Number(e.occurred_at) - 86_400_000;
    });
    const r = await verify(ctx, business.id);
    assert.equal(r.ok, false);
    assert.ok(
      r.problems.some((p) => p.personId === c && /unkeyed hash .*recomputed without the key/.test(p.problem)),
      problemsText(r),
    );
    // The seal refuses to cover the forged chain, and covers the others.
    const s = await sealBusiness(ctx, business.id);
    assert.deepEqual(
      s.refused.map((x) => x.personId),
      [c],
    );
    assert.equal(s.covered, 2);

    // Sealed, then rewritten: the covered head no longer matches either.
    await recomputePlain(db(), business.id, a, () => {});
    const r2 = await verify(ctx, business.id);
    assert.ok(
      r2.problems.some(
        (p) => p.personId === a && /seal #1 covers this chain up to event 2 .*rewritten/.test(p.problem),
      ),
      problemsText(r2),
    );
  });

  it('a seal edited, forged or deleted is found', async () => {
    const ctx = testContext(db());
    const { business, a, base } = await ledgerOf(ctx);
    await sealBusiness(ctx, business.id);
    await recordOptIn(ctx, business.id, { ...base, person: { personId: a }, topics: ['billing'] });
    await sealBusiness(ctx, business.id);
    await db()
      .db.updateTable('ledger_seals')
      .set({ people: 2 })
      .where('business_id', '=', business.id)
      .where('seq', '=', 1)
      .execute();
    const r = await verify(ctx, business.id);
    assert.ok(
      r.problems.some((p) => /seal #1 was altered or made without the key/.test(p.problem)),
      problemsText(r),
    );
    await db()
      .db.updateTable('ledger_seals')
      .set({ people: 3 })
      .where('business_id', '=', business.id)
      .where('seq', '=', 1)
      .execute();
    assert.equal((await verify(ctx, business.id)).ok, true);
    await db().db.deleteFrom('ledger_seals').where('business_id', '=', business.id).where('seq', '=', 2).execute();
    const r2 = await verify(ctx, business.id);
    assert.ok(
      r2.problems.some((p) => /names seal #2, newer than the newest seal #1: seals were deleted/.test(p.problem)),
      problemsText(r2),
    );
  });

  it('two sealers at once write one seal each number; the loser stops', async () => {
    const ctx = testContext(db());
    const { business } = await ledgerOf(ctx);
    const rs = await Promise.all([sealBusiness(ctx, business.id), sealBusiness(ctx, business.id)]);
    const seals = await db()
      .db.selectFrom('ledger_seals')
      .select('seq')
      .where('business_id', '=', business.id)
      .execute();
    assert.ok(seals.length >= 1 && seals.length <= 2);
    assert.ok(rs.some((r) => r.seals === 1));
    assert.equal((await verify(ctx, business.id)).ok, true);
  });
});

forEachDialect('ledger: events from before keyed hashes', (db) => {
  it('unkeyed events written before migration 0003 still verify, chains continue keyed, and once sealed they cannot be recomputed', async () => {
    const ctx = testContext(db());
    const { business, a, b, base } = await ledgerOf(ctx);
    // As the ledger looked before keyed hashes: every event plain SHA-256. Then migration 0003 runs on it.
    for (const p of [a, b]) await recomputePlain(db(), business.id, p, () => {});
    const c = (
      await db()
        .db.selectFrom('people')
        .select('id')
        .where('business_id', '=', business.id)
        .where('id', 'not in', [a, b])
        .executeTakeFirstOrThrow()
    ).id;
    await recomputePlain(db(), business.id, c, () => {});
    await m0003.down(db().db);
    await m0003.up(db().db);
    const seal0 = await db()
      .db.selectFrom('ledger_seals')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([Number(seal0.seq), seal0.scheme, Number(seal0.legacy_events)], [0, 'legacy', 4]);
    const r = await verify(ctx, business.id);
    assert.equal(r.ok, true, problemsText(r));

    ctx.clock.advance(60_000);
    await recordOptIn(ctx, business.id, { ...base, person: { personId: a }, topics: ['billing'] });
    const aHashes = await db()
      .db.selectFrom('consent_events')
      .select('hash')
      .where('business_id', '=', business.id)
      .where('person_id', '=', a)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      aHashes.map((h) => h.hash.startsWith('k1:')),
      [false, false, true],
      'the chain goes on keyed',
    );
    const s = await sealBusiness(ctx, business.id);
    assert.deepEqual([s.covered, s.refused.length], [3, 0]);
    const r2 = await verify(ctx, business.id);
    assert.equal(r2.ok, true, problemsText(r2));

    // After the seal, recomputing a legacy chain with an edit is found by its covered head.
    await recomputePlain(db(), business.id, b, (e) => {
      e.occurred_at = Number(e.occurred_at) - 1000;
    });
    const r3 = await verify(ctx, business.id);
    assert.ok(
      r3.problems.some((p) => p.personId === b && /rewritten/.test(p.problem)),
      problemsText(r3),
    );
    // And a keyed chain cannot be turned into an unkeyed one: it exceeds the legacy allowance.
    await recomputePlain(db(), business.id, a, () => {});
    const r4 = await verify(ctx, business.id);
    assert.ok(
      r4.problems.some(
        (p) =>
          p.personId === a &&
          /unkeyed hash although it was recorded after keyed hashes began|not covered by the seal/.test(p.problem),
      ),
      problemsText(r4),
    );
    assert.ok(
      r4.problems.some(
        (p) => p.personId === null && /5 events carry unkeyed hashes but only 4 were written before/.test(p.problem),
      ),
      problemsText(r4),
    );
  });
});
