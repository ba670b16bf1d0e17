import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webOptIn } from '../../helpers/seed.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { guardTemplates } from '../../../src/services/quality/guard-templates.js';
import { resumeTemplate } from '../../../src/storage/quality/template-health-store.js';

const phone = (i: number) => `+4479111234${String(i).padStart(2, '0')}`;

forEachDialect('template guard', (db) => {
  it('an opt-out spike after a template pauses it for the business: review item, and sends refused TEMPLATE_PAUSED', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, {
      policy: { templateGuard: { optOutRate: 0.02, minRecipients: 10, windowHours: 24 } },
    });
    for (let i = 0; i < 20; i++) {
      await webOptIn(ctx, business.id, text.hash, { phone: phone(i) });
      const tpl = i < 12 ? 'spring_sale' : 'order_update';
      const q = await queueMessage(ctx, business.id, {
        person: { phone: phone(i) },
        topic: 'delivery',
        template: { name: tpl, language: 'en' },
      });
      assert.equal(q.outcome, 'queued');
    }
    // They left (what the worker records), then one recipient of spring_sale in 12 opts out within the hour.
    await db()
      .db.updateTable('messages')
      .set({ status: 'sent', sent_at: ctx.clock.now() })
      .where('business_id', '=', business.id)
      .where('kind', '=', 'notification')
      .execute();
    ctx.clock.advance(3_600_000);
    await recordOptOut(ctx, business.id, {
      person: { phone: phone(0) },
      scope: 'all',
      channel: 'whatsapp',
      action: 'sent_keyword',
      evidence: { text: 'STOP' },
      actor: 't',
    });

    const r = await guardTemplates(ctx, { businessId: business.id });
    assert.deepEqual(
      r.paused.map((p) => p.template),
      ['spring_sale'],
      '1 of 12 (8 %) is above 2 %; order_update had none',
    );
    assert.deepEqual((await guardTemplates(ctx, { businessId: business.id })).paused, [], 'paused once');
    const review = await db()
      .db.selectFrom('review_items')
      .selectAll()
      .where('business_id', '=', business.id)
      .where('reason', '=', 'template_paused')
      .execute();
    assert.equal(review.length, 1);
    assert.equal(JSON.parse(review[0]!.detail).template, 'spring_sale');

    const refused = await queueMessage(ctx, business.id, {
      person: { phone: phone(5) },
      topic: 'delivery',
      template: { name: 'spring_sale', language: 'en' },
    });
    assert.equal(refused.outcome, 'refused');
    assert.deepEqual(
      refused.decision.reasons.map((x) => x.code),
      ['TEMPLATE_PAUSED'],
    );
    const other = await queueMessage(ctx, business.id, {
      person: { phone: phone(5) },
      topic: 'delivery',
      template: { name: 'order_update', language: 'en' },
    });
    assert.equal(other.outcome, 'queued', 'other templates still go');

    await db()
      .db.transaction()
      .execute((trx) => resumeTemplate(trx, business.id, 'spring_sale', ctx.clock.now()));
    const again = await queueMessage(ctx, business.id, {
      person: { phone: phone(6) },
      topic: 'delivery',
      template: { name: 'spring_sale', language: 'en' },
    });
    assert.equal(again.outcome, 'queued', 'resumed by staff');
  });

  it('below the minimum of notifications the guard does not judge', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, {
      policy: { templateGuard: { optOutRate: 0.02, minRecipients: 50, windowHours: 24 } },
    });
    await webOptIn(ctx, business.id, text.hash, { phone: phone(90) });
    await queueMessage(ctx, business.id, {
      person: { phone: phone(90) },
      topic: 'delivery',
      template: { name: 'tiny', language: 'en' },
    });
    await db()
      .db.updateTable('messages')
      .set({ status: 'sent', sent_at: ctx.clock.now() })
      .where('business_id', '=', business.id)
      .where('kind', '=', 'notification')
      .execute();
    ctx.clock.advance(60_000);
    await recordOptOut(ctx, business.id, {
      person: { phone: phone(90) },
      scope: 'all',
      channel: 'whatsapp',
      action: 'sent_keyword',
      evidence: { text: 'STOP' },
      actor: 't',
    });
    assert.deepEqual((await guardTemplates(ctx, { businessId: business.id })).paused, []);
  });
});
