import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { submitWebOptIn } from '../../../src/services/capture/submit-web-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { inboundText } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { putCaptureSettings } from '../../../src/storage/capture/capture-settings-store.js';

// The hosted page's ownership check end to end: the form records nothing; the code, sent by the person from
// their own WhatsApp through the signed webhook, records the opt-in; the same code from another number does not.
forEachDialect('ownership check through the WhatsApp webhook', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  it('a code sent from the typed number confirms the opt-in; from another number it is refused with a reply', async () => {
    const b = await t.business();
    await putCaptureSettings(
      db().db,
      b.business.id,
      { ownershipCheck: true, defaultCountry: null, whatsappNumber: '15550001111' },
      t.ctx.clock.now(),
    );
    const pending = await submitWebOptIn(t.ctx, b.business.id, {
      textHash: b.text.hash,
      offeredTopics: ['delivery', 'billing'],
      checkedTopics: ['delivery'],
      phone: '+447911123456',
      country: null,
      language: 'en',
      evidence: {
        ip: '203.0.113.5',
        userAgent: 'Mozilla/5.0',
        pageUrl: 'https://x.example/p/shop/opt-in',
        formId: 'f1',
      },
    });
    assert.equal(pending.kind, 'ownership_check');
    if (pending.kind !== 'ownership_check') return;
    assert.equal(
      (await decideSend(t.ctx, b.business.id, { person: { phone: '+447911123456' }, topic: 'delivery' })).outcome,
      'refuse',
      'nothing recorded by the form alone',
    );

    const wrong = await t.deliver(
      inboundText({ phoneNumberId: b.phoneNumberId, from: '14155552671', text: `My code: ${pending.code}` }),
      b.appSecret,
    );
    assert.equal(wrong.statusCode, 200);
    assert.equal(
      (await decideSend(t.ctx, b.business.id, { person: { phone: '+447911123456' }, topic: 'delivery' })).outcome,
      'refuse',
    );
    const replies = await db()
      .db.selectFrom('messages')
      .select(['kind', 'payload'])
      .where('business_id', '=', b.business.id)
      .where('kind', '=', 'reply')
      .execute();
    assert.equal(replies.length, 1, 'the other number is told why');

    const right = await t.deliver(
      inboundText({ phoneNumberId: b.phoneNumberId, from: '447911123456', text: `My code: ${pending.code}` }),
      b.appSecret,
    );
    assert.equal(right.statusCode, 200);
    const d = await decideSend(t.ctx, b.business.id, { person: { phone: '+447911123456' }, topic: 'delivery' });
    assert.equal(d.outcome, 'allow');
    const confirmations = await db()
      .db.selectFrom('messages')
      .select('id')
      .where('business_id', '=', b.business.id)
      .where('kind', '=', 'confirmation')
      .execute();
    assert.equal(confirmations.length, 1, 'the WhatsApp confirmation is queued');
  });
});
