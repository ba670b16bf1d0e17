import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence } from '../../helpers/seed.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { gateFactsRead, referenceGateFactsRead, type GateRow } from '../../../src/storage/dispatch/gate-facts-read.js';
import type { PersonKey } from '../../../src/storage/consent/people-store.js';

/** A small deterministic generator (mulberry32): the same data on every run and both dialects. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = ['queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'cancelled', 'refused', 'unknown'];
const sorted = (r: GateRow | undefined) =>
  r && {
    ...r,
    sends: [...r.sends].sort((a, b) =>
      `${a.topicId}|${a.sentAt}|${a.status}`.localeCompare(`${b.topicId}|${b.sentAt}|${b.status}`),
    ),
  };

forEachDialect('storage: gate facts read (port against the plain reference)', (db) => {
  it('reads the same facts as the reference on generated people, states and messages, in and out of a transaction', async () => {
    const ctx = testContext(db());
    const { business, text, topics } = await seedBusiness(ctx);
    const now = ctx.clock.now();
    const next = rng(9);
    const topicIds = [topics.delivery.id, topics.billing.id];
    const phones = Array.from({ length: 12 }, (_, i) => `+4479111234${String(10 + i)}`);
    for (const [i, phone] of phones.entries()) {
      if (i % 4 === 3) continue; // never stored
      const r = await recordOptIn(ctx, business.id, {
        person: { phone },
        topics: next() < 0.5 ? ['delivery'] : ['delivery', 'billing'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.hash,
        evidence: webEvidence,
        actor: 't',
        sourceRef: `gen-${i}`,
      });
      if (i % 5 === 1)
        await recordOptOut(ctx, business.id, {
          person: { phone },
          scope: 'all',
          channel: 'web',
          action: 'clicked_link',
          evidence: {},
          actor: 't',
        });
      const n = Math.floor(next() * 6);
      const rows = Array.from({ length: n }, (_, j) => {
        const status = STATUSES[Math.floor(next() * STATUSES.length)]!;
        const sent = ['sent', 'delivered', 'read'].includes(status) || (status === 'failed' && next() < 0.3);
        return {
          business_id: business.id,
          id: `msg_gen_${i}_${j}`,
          person_id: r.personId,
          topic_id: topicIds[Math.floor(next() * 2)]!,
          kind: next() < 0.85 ? 'notification' : 'reply',
          status,
          payload: '{}',
          attempts: 1,
          not_before: now - 50 * 3_600_000,
          created_at: now - 50 * 3_600_000,
          updated_at: now,
          sent_at: sent ? now - Math.floor(next() * 48 * 3_600_000) : null,
        };
      });
      if (rows.length) await db().db.insertInto('messages').values(rows).execute();
    }
    const port = gateFactsRead(db());
    let compared = 0;
    let withSends = 0;
    for (const phone of phones) {
      for (const topicId of [...topicIds, 'top_missing']) {
        for (const since of [now - 24 * 3_600_000, now - 1, 0]) {
          const key: PersonKey = { phone };
          const want = sorted(await referenceGateFactsRead.read(db().db, business.id, key, topicId, since));
          assert.deepEqual(
            sorted(await port.read(db().db, business.id, key, topicId, since)),
            want,
            `${phone} ${topicId} ${since}`,
          );
          const inTx = await db().transaction((trx) => port.read(trx, business.id, key, topicId, since));
          assert.deepEqual(sorted(inTx), want, `${phone} ${topicId} ${since} (in a transaction)`);
          compared++;
          if (want?.sends.length) withSends++;
        }
      }
    }
    assert.equal(compared, 12 * 3 * 3);
    assert.ok(withSends > 10, `the generated data exercises counted sends (${withSends})`);

    // All at once, with unknown businesses and other key columns among them: on PostgreSQL the decisions that
    // arrive together are read in shared statements, and each must still get its own facts.
    const asks = phones.flatMap((phone, i) =>
      [...topicIds, 'top_missing'].flatMap((topicId) =>
        [now - 24 * 3_600_000, 0].map((since) => ({
          businessId: i % 6 === 5 ? 'biz_missing' : business.id,
          key: (i % 3 === 2 ? { waId: phone.slice(1) } : { phone }) as PersonKey,
          topicId,
          since,
        })),
      ),
    );
    const together = await Promise.all(asks.map((a) => port.read(db().db, a.businessId, a.key, a.topicId, a.since)));
    for (const [i, a] of asks.entries()) {
      const want = sorted(await referenceGateFactsRead.read(db().db, a.businessId, a.key, a.topicId, a.since));
      assert.deepEqual(sorted(together[i]), want, `at once: ${JSON.stringify(a)}`);
    }
    assert.ok(together.some((r) => r === undefined) && together.some((r) => r?.personId));
  });

  it('edge: no such business reads nothing; a person not stored reads the business only', async () => {
    const ctx = testContext(db());
    const { business, topics } = await seedBusiness(ctx);
    const port = gateFactsRead(db());
    assert.equal(await port.read(db().db, 'biz_missing', { phone: '+447911123456' }, topics.delivery.id, 0), undefined);
    assert.equal(
      await referenceGateFactsRead.read(db().db, 'biz_missing', { phone: '+447911123456' }, topics.delivery.id, 0),
      undefined,
    );
    const r = await port.read(db().db, business.id, { phone: '+447911123456' }, topics.delivery.id, 0);
    assert.deepEqual(
      r,
      await referenceGateFactsRead.read(db().db, business.id, { phone: '+447911123456' }, topics.delivery.id, 0),
    );
    assert.equal(r?.personId, null);
  });
});
