import { it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { forEachDialect, PG_URL } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence, webOptIn } from '../../helpers/seed.js';
import { openPostgres, openSqlite, type Database } from '../../../src/storage/db.js';
import type { ServiceContext } from '../../../src/services/context.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { createTopic, archiveTopic } from '../../../src/services/admin/manage-topics.js';
import { registerText } from '../../../src/services/admin/manage-texts.js';
import { updateBusiness } from '../../../src/services/admin/manage-businesses.js';
import { claimBatch, type ClaimDeps } from '../../../src/worker/dispatch/claim.js';
import { BusinessInfoCache } from '../../../src/services/dispatch/business-info.js';
import { Pacer } from '../../../src/worker/dispatch/pacer.js';

let n = 0;
const phone = () => `+4479112${String(40000 + ++n).padStart(5, '0')}`;
const template = { name: 'order_update', language: 'en_US' };

/** A worker's claim, on its own cache (as in a worker process), with no pacing limits. */
function claimer(ctx: ServiceContext): ClaimDeps {
  return {
    database: ctx.database,
    cache: new BusinessInfoCache(ctx.database.caches.businesses, ctx.keyring, 1000),
    pacer: new Pacer(),
    workerId: `w-${++n}`,
    leaseMs: 60_000,
    horizonMs: 1000,
  };
}

async function statuses(database: Database, businessId: string, kind: string) {
  const rows = await database.db
    .selectFrom('messages')
    .select(['status', 'error_code'])
    .where('business_id', '=', businessId)
    .where('kind', '=', kind)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => (r.error_code ? `${r.status}:${r.error_code}` : r.status));
}

/** A second handle on the same database, with caches of its own: another process, as far as the code can tell. */
async function secondHandle(t: TestContext, database: Database): Promise<Database | null> {
  if (database.sqlite) return openSqlite(database.sqlite.name);
  if (!PG_URL) {
    t.skip('two handles on one PGlite database are not possible');
    return null;
  }
  const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(database.db)).rows[0]!.s;
  return openPostgres(PG_URL, { schema, poolSize: 2 });
}

forEachDialect('One gate: enqueue and claim decide alike', (db) => {
  it('observation 8: with a 3/day cap the 4th and 5th notifications are refused at enqueue (FREQUENCY_CAPPED), and the 3 accepted are all claimed', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, {
      policy: { frequencyCaps: [{ topic: '*', max: 3, windowHours: 24 }] },
    });
    const p = phone();
    await webOptIn(ctx, business.id, text.hash, { phone: p });
    const outcomes = [];
    for (let i = 0; i < 5; i++) {
      const r = await queueMessage(ctx, business.id, { person: { phone: p }, topic: 'delivery', template });
      outcomes.push(r.outcome === 'refused' ? `refused:${r.decision.reasons.map((x) => x.code).join(',')}` : r.outcome);
    }
    assert.deepEqual(outcomes, ['queued', 'queued', 'queued', 'refused:FREQUENCY_CAPPED', 'refused:FREQUENCY_CAPPED']);
    // The read-only decision says the same as the enqueue would.
    assert.deepEqual(
      (await decideSend(ctx, business.id, { person: { phone: p }, topic: 'delivery' })).reasons.map((x) => x.code),
      ['FREQUENCY_CAPPED'],
    );

    const c = await claimBatch(claimer(ctx), 100, ctx.clock.now());
    assert.equal(c.refused, 0, 'nothing accepted at enqueue is refused at claim');
    assert.deepEqual(await statuses(db(), business.id, 'notification'), ['sending', 'sending', 'sending']);
  });

  it('in-flight and sent notifications count at enqueue as at claim', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, {
      policy: { frequencyCaps: [{ topic: '*', max: 3, windowHours: 24 }] },
    });
    const p = phone();
    await webOptIn(ctx, business.id, text.hash, { phone: p });
    for (let i = 0; i < 2; i++)
      assert.equal(
        (await queueMessage(ctx, business.id, { person: { phone: p }, topic: 'delivery', template })).outcome,
        'queued',
      );
    await claimBatch(claimer(ctx), 100, ctx.clock.now()); // both in flight now
    await db()
      .db.updateTable('messages')
      .set({ status: 'sent', sent_at: ctx.clock.now() })
      .where('business_id', '=', business.id)
      .where('kind', '=', 'notification')
      .where(
        'id',
        '=',
        (
          await db()
            .db.selectFrom('messages')
            .select('id')
            .where('business_id', '=', business.id)
            .where('kind', '=', 'notification')
            .orderBy('id')
            .executeTakeFirstOrThrow()
        ).id,
      )
      .execute();
    assert.equal(
      (await queueMessage(ctx, business.id, { person: { phone: p }, topic: 'delivery', template })).outcome,
      'queued',
      '1 sent + 1 in flight + this one = 3',
    );
    const fourth = await queueMessage(ctx, business.id, { person: { phone: p }, topic: 'delivery', template });
    assert.equal(fourth.outcome, 'refused');
    const c = await claimBatch(claimer(ctx), 100, ctx.clock.now());
    assert.equal(c.refused, 0);
    assert.equal(c.items.filter((i) => i.kind === 'notification').length, 1);
  });

  it('when a lowered cap leaves more queued than it allows, the oldest go and only the ones behind them are refused', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, {
      policy: { frequencyCaps: [{ topic: '*', max: 5, windowHours: 24 }] },
    });
    const p = phone();
    await webOptIn(ctx, business.id, text.hash, { phone: p });
    for (let i = 0; i < 4; i++) {
      assert.equal(
        (await queueMessage(ctx, business.id, { person: { phone: p }, topic: 'delivery', template })).outcome,
        'queued',
      );
      ctx.clock.advance(1);
    }
    await updateBusiness(ctx, business.id, { policy: { frequencyCaps: [{ topic: '*', max: 2, windowHours: 24 }] } });
    const c = await claimBatch(claimer(ctx), 100, ctx.clock.now());
    assert.equal(c.refused, 2);
    assert.deepEqual(await statuses(db(), business.id, 'notification'), [
      'sending',
      'sending',
      'refused:FREQUENCY_CAPPED',
      'refused:FREQUENCY_CAPPED',
    ]);
  });

  it("observation 6: a topic created and used at once is sent, and the opt-in's confirmation is not cancelled", async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx, { name: 'Obs Six' });
    const worker = claimer(ctx);
    // The worker has this business cached from an earlier round, and the gate has too.
    const warm = phone();
    await recordOptIn(ctx, business.id, {
      person: { phone: warm },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: (
        await registerText(ctx, business.id, {
          name: 'w',
          language: 'en',
          topicKeys: ['delivery'],
          body: 'Yes, send me delivery updates from Obs Six on WhatsApp. Reply STOP at any time to opt out.',
        })
      ).hash,
      evidence: webEvidence,
      actor: 't',
    });
    await decideSend(ctx, business.id, { person: { phone: warm }, topic: 'delivery' });
    await claimBatch(worker, 100, ctx.clock.now());

    await createTopic(ctx, business.id, { key: 'flash', name: 'flash sales', category: 'utility' });
    const text = await registerText(ctx, business.id, {
      name: 'flash',
      language: 'en',
      topicKeys: ['flash'],
      body: 'Yes, send me flash sales from Obs Six on WhatsApp. Reply STOP at any time to opt out.',
    });
    const p = phone();
    const optIn = await webOptIn(ctx, business.id, text.hash, { phone: p }, ['flash']);
    const q = await queueMessage(ctx, business.id, { person: { phone: p }, topic: 'flash', template });
    assert.equal(q.outcome, 'queued');
    const c = await claimBatch(worker, 100, ctx.clock.now());
    assert.equal(c.refused + c.cancelled, 0, 'the worker refuses nothing the API accepted');
    const leased = new Set(c.items.map((i) => i.id));
    assert.ok(leased.has(q.message.id), 'the notification is claimed');
    assert.ok(
      optIn.confirmationMessageId && leased.has(optIn.confirmationMessageId),
      'the confirmation is claimed, not cancelled',
    );
  });

  it('two processes on one database: a topic, an archive and a policy change made through one are used at once by the other', async (t) => {
    const other = await secondHandle(t, db());
    if (!other) return;
    try {
      const a = testContext(db());
      const b = testContext(other, a.clock);
      const { business, text } = await seedBusiness(a, { name: 'Two Procs' });
      const p = phone();
      await webOptIn(a, business.id, text.hash, { phone: p });
      const workerB = claimer(b);
      // B has the business cached (gate and worker) before A's writes.
      assert.equal((await decideSend(b, business.id, { person: { phone: p }, topic: 'delivery' })).outcome, 'allow');
      assert.equal(
        (await decideSend(b, business.id, { person: { phone: p }, topic: 'news' })).reasons[0]?.code,
        'UNKNOWN_TOPIC',
      );
      await claimBatch(workerB, 100, a.clock.now());

      await createTopic(a, business.id, { key: 'news', name: 'order news', category: 'utility' });
      const newsText = await registerText(a, business.id, {
        name: 'news',
        language: 'en',
        topicKeys: ['news'],
        body: 'Yes, send me order news from Two Procs on WhatsApp. Reply STOP at any time to opt out.',
      });
      const optIn = await webOptIn(a, business.id, newsText.hash, { phone: p }, ['news']);
      assert.equal(
        (await decideSend(b, business.id, { person: { phone: p }, topic: 'news' })).outcome,
        'allow',
        'B sees the topic at once',
      );
      const q = await queueMessage(b, business.id, { person: { phone: p }, topic: 'news', template });
      assert.equal(q.outcome, 'queued');
      const c = await claimBatch(workerB, 100, a.clock.now());
      assert.equal(c.refused + c.cancelled, 0);
      assert.ok(
        c.items.some((i) => i.id === q.message.id) && c.items.some((i) => i.id === optIn.confirmationMessageId),
      );

      await updateBusiness(a, business.id, { policy: { frequencyCaps: [{ topic: '*', max: 1, windowHours: 24 }] } });
      assert.deepEqual(
        (await decideSend(b, business.id, { person: { phone: p }, topic: 'delivery' })).reasons.map((x) => x.code),
        ['FREQUENCY_CAPPED'],
        'B uses the new cap at once',
      );
      await archiveTopic(a, business.id, 'news');
      assert.ok(
        (await decideSend(b, business.id, { person: { phone: p }, topic: 'news' })).reasons.some(
          (x) => x.code === 'UNKNOWN_TOPIC',
        ),
        'B sees the archive at once',
      );
    } finally {
      await other.close();
    }
  });
});
