import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../helpers/whatsapp.js';
import { putWhatsAppChannel } from '../../src/services/admin/manage-whatsapp-channel.js';
import { recordOptIn } from '../../src/services/consent/record-opt-in.js';
import { queueMessage } from '../../src/services/dispatch/queue-message.js';
import { latestNumberQuality } from '../../src/storage/quality/quality-events-store.js';
import { getTemplateHealth } from '../../src/storage/quality/template-health-store.js';

const WEB = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)', pageUrl: 'https://acme.example/opt-in' };
const envelope = (waba: string, field: string, value: object) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: waba, time: 1767225600, changes: [{ field, value }] }],
});

forEachDialect('WhatsApp quality and template webhooks', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const withWaba = async () => {
    const b = await t.business();
    const waba = `1029${Math.floor(Math.random() * 1e9)}`;
    await putWhatsAppChannel(t.ctx, b.business.id, {
      phoneNumberId: b.phoneNumberId,
      accessToken: 'tok',
      appSecret: b.appSecret,
      verifyToken: b.verifyToken,
      wabaId: waba,
    });
    return { ...b, waba };
  };

  it('a phone_number_quality_update is stored for the business of its WABA, and a FLAGGED number gets a review item', async () => {
    const b = await withWaba();
    const r = await t.deliver(
      envelope(b.waba, 'phone_number_quality_update', {
        display_phone_number: '15550100999',
        event: 'FLAGGED',
        current_limit: 'TIER_10K',
      }),
      b.appSecret,
    );
    assert.equal(r.statusCode, 200);
    const q = await latestNumberQuality(db().db, b.business.id);
    assert.equal(q?.event, 'FLAGGED');
    assert.equal(q?.subject, '15550100999');
    assert.equal(q?.detail.currentLimit, 'TIER_10K');
    const items = await db()
      .db.selectFrom('review_items')
      .select('reason')
      .where('business_id', '=', b.business.id)
      .execute();
    assert.deepEqual(
      items.map((i) => i.reason),
      ['number_quality'],
    );
    // Redelivered: stored once.
    await t.deliver(
      envelope(b.waba, 'phone_number_quality_update', {
        display_phone_number: '15550100999',
        event: 'FLAGGED',
        current_limit: 'TIER_10K',
      }),
      b.appSecret,
    );
    const n = await db()
      .db.selectFrom('quality_events')
      .select('id')
      .where('business_id', '=', b.business.id)
      .execute();
    assert.equal(n.length, 1);
  });

  it("Meta's PAUSED template status stops the template for the business (TEMPLATE_PAUSED); REINSTATED lifts it", async () => {
    const b = await withWaba();
    const value = (event: string) => ({
      event,
      message_template_id: 594425479261596,
      message_template_name: 'spring_sale',
      message_template_language: 'en_US',
      reason: 'NONE',
      other_info: { title: 'FIRST_PAUSE', description: 'Low quality' },
    });
    assert.equal(
      (await t.deliver(envelope(b.waba, 'message_template_status_update', value('PAUSED')), b.appSecret)).statusCode,
      200,
    );
    const h = await getTemplateHealth(db().db, b.business.id, 'spring_sale');
    assert.deepEqual([h?.status, h?.pausedBy, h?.metaStatus], ['paused', 'meta', 'PAUSED']);
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: '+447911123456' },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: WEB,
      actor: 't',
    });
    const q = await queueMessage(t.ctx, b.business.id, {
      person: { phone: '+447911123456' },
      topic: 'delivery',
      template: { name: 'spring_sale', language: 'en_US' },
    });
    assert.deepEqual(
      q.decision.reasons.map((x) => x.code),
      ['TEMPLATE_PAUSED'],
    );

    await t.deliver(envelope(b.waba, 'message_template_status_update', value('REINSTATED')), b.appSecret);
    assert.equal((await getTemplateHealth(db().db, b.business.id, 'spring_sale'))?.status, 'active');
    const again = await queueMessage(t.ctx, b.business.id, {
      person: { phone: '+447911123456' },
      topic: 'delivery',
      template: { name: 'spring_sale', language: 'en_US' },
    });
    assert.equal(again.outcome, 'queued');
  });

  it('a template update for a WABA signed with another business’s secret is refused and stores nothing', async () => {
    const a = await withWaba();
    const other = await withWaba();
    const r = await t.post(
      envelope(a.waba, 'message_template_status_update', {
        event: 'DISABLED',
        message_template_name: 'x',
        message_template_id: 1,
      }),
      other.appSecret,
    );
    assert.equal(r.statusCode, 401);
    assert.equal(await getTemplateHealth(db().db, a.business.id, 'x'), null);
  });
});
