import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webOptIn } from '../../helpers/seed.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { loadMessageFacts } from '../../../src/storage/dispatch/gate-facts.js';
import { DEFAULT_POLICY } from '../../../src/domain/gate/policy.js';

const PHONE = '+447911123456';

forEachDialect('send gate reads', (db) => {
  it('counts the notifications sent in the window, newest first, for caps and spacing', async () => {
    const ctx = testContext(db());
    const { business, text, topics } = await seedBusiness(ctx, {
      policy: {
        frequencyCaps: [
          { topic: '*', max: 3, windowHours: 24 },
          { topic: 'billing', max: 1, windowHours: 24 },
        ],
        minSpacingSeconds: 600,
      },
    });
    const r = await webOptIn(ctx, business.id, text.hash, { phone: PHONE }, ['delivery', 'billing']);
    const now = ctx.clock.now();
    const notification = (id: string, topicId: string, sentAt: number | null, status = 'sent') => ({
      business_id: business.id,
      id,
      person_id: r.personId,
      topic_id: topicId,
      kind: 'notification',
      status,
      payload: '{}',
      attempts: status === 'sent' ? 1 : 0,
      not_before: now - 100 * 3_600_000,
      created_at: now - 100 * 3_600_000,
      updated_at: now,
      sent_at: sentAt,
    });
    await db()
      .db.insertInto('messages')
      .values([
        notification('msg_old', topics.billing.id, now - 30 * 3_600_000), // outside every window
        notification('msg_refused', topics.billing.id, null, 'refused'), // never sent, never will be: not counted
        notification('msg_d1', topics.delivery.id, now - 5 * 3_600_000),
      ])
      .execute();
    const codes = async (topic: string) =>
      (await decideSend(ctx, business.id, { person: { phone: PHONE }, topic })).reasons.map((x) => x.code);
    assert.deepEqual(await codes('billing'), []);

    await db()
      .db.insertInto('messages')
      .values(notification('msg_b1', topics.billing.id, now - 60_000))
      .execute();
    const d = await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'billing' });
    assert.deepEqual(
      d.reasons.map((x) => x.code),
      ['FREQUENCY_CAPPED', 'SPACING'],
      'the billing cap and the spacing from the newest send',
    );
    assert.equal(d.notBefore, null);
    assert.equal(d.reasons[1]!.until, now - 60_000 + 600_000);
    assert.deepEqual(await codes('delivery'), ['SPACING']);

    await db()
      .db.insertInto('messages')
      .values(notification('msg_d2', topics.delivery.id, now - 2 * 3_600_000))
      .execute();
    assert.deepEqual(await codes('delivery'), ['FREQUENCY_CAPPED', 'SPACING'], 'three sends in 24 h');
  });

  it('a cap window of a fractional number of hours reads the counted sends on both dialects (no fractional bigint bound)', async () => {
    const ctx = testContext(db());
    // 0.0123456 h = 44 444.16 ms: the bound `now - window` once reached PostgreSQL as a fractional bigint (500).
    const { business, text, topics } = await seedBusiness(ctx, {
      policy: { frequencyCaps: [{ topic: '*', max: 1, windowHours: 0.0123456 }] },
    });
    const r = await webOptIn(ctx, business.id, text.hash, { phone: PHONE });
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' })).outcome,
      'allow',
    );
    const now = ctx.clock.now();
    await db()
      .db.insertInto('messages')
      .values({
        business_id: business.id,
        id: 'msg_recent',
        person_id: r.personId,
        topic_id: topics.delivery.id,
        kind: 'notification',
        status: 'sent',
        payload: '{}',
        attempts: 1,
        not_before: now - 60_000,
        created_at: now - 60_000,
        updated_at: now,
        sent_at: now - 44_444,
      })
      .execute();
    const d = await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' });
    assert.deepEqual(
      d.reasons.map((x) => x.code),
      ['FREQUENCY_CAPPED'],
      'a send 44 444 ms ago is inside the window',
    );
    // The claim's read of the same rows (set-based, in a transaction) takes the same bound.
    const policy = { ...DEFAULT_POLICY, frequencyCaps: [{ topic: '*', max: 1, windowHours: 0.0123456 }] };
    const facts = await db().transaction((trx) =>
      loadMessageFacts(trx, { id: business.id, policy }, [r.personId], [r.personId], now),
    );
    assert.deepEqual(
      facts.counted.get(r.personId)?.map((x) => x.id),
      ['msg_recent'],
    );
  });

  it('a decision outside a transaction never sees another transaction’s uncommitted writes', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const r = await webOptIn(ctx, business.id, text.hash, { phone: PHONE });
    // Asked once first, so the business is cached and the second decision goes straight to the person's read.
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' })).outcome,
      'allow',
    );
    let during: Promise<string> | undefined;
    await assert.rejects(
      db().transaction(async (trx) => {
        await sql`UPDATE consent_state SET status = 'opted_out' WHERE business_id = ${business.id} AND person_id = ${r.personId}`.execute(
          trx,
        );
        // Asked while the transaction is open (on SQLite: on the same connection), answered from committed data.
        during = decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' }).then((x) => x.outcome);
        await new Promise((res) => setImmediate(res));
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await during, 'allow');
  });
});
