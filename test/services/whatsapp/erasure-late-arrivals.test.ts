// Erasure covers what arrives after it: a delivery receipt for an erased number is stored without the number
// (issue: receipts 35–50 ms after an erasure kept it in the inbox for 30 days), and one stored but not yet processed
// when the erasure runs loses it too. Both still settle their message.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { inboxRows, newNumber } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import { randomWamid, statusUpdate } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { erasePerson } from '../../../src/services/consent/erase-person.js';

forEachDialect('Erasure covers late arrivals', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  async function sentConfirmation() {
    const b = await t.business();
    const p = newNumber();
    const r = await recordOptIn(t.ctx, b.business.id, {
      person: { phone: p.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    const wamid = randomWamid();
    await t.ctx.database.db
      .updateTable('messages')
      .set({ status: 'sent', provider_message_id: wamid })
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', r.personId)
      .execute();
    return { b, p, personId: r.personId, wamid };
  }

  it('a receipt arriving after the erasure is stored without the number and still settles the message', async () => {
    const { b, p, personId, wamid } = await sentConfirmation();
    await erasePerson(t.ctx, b.business.id, personId, { actor: 'dpo' });
    const r = await t.deliver(
      statusUpdate({
        phoneNumberId: b.phoneNumberId,
        messageId: wamid,
        status: 'delivered',
        recipientId: p.digits,
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(r.statusCode, 200, r.body);
    const rows = await inboxRows(t.ctx.database.db, b.business.id);
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]!.payload.includes(p.digits), 'no number stored');
    assert.ok(rows[0]!.payload.includes(wamid), 'the message id stays');
    const msg = await t.ctx.database.db
      .selectFrom('messages')
      .select('status')
      .where('business_id', '=', b.business.id)
      .where('provider_message_id', '=', wamid)
      .executeTakeFirstOrThrow();
    assert.equal(msg.status, 'delivered');
  });

  it('a receipt stored but not processed when the erasure runs loses the number too', async () => {
    const { b, p, personId, wamid } = await sentConfirmation();
    // Stored (answered 200) but not processed yet.
    const r = await t.post(
      statusUpdate({
        phoneNumberId: b.phoneNumberId,
        messageId: wamid,
        status: 'read',
        recipientId: p.digits,
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(r.statusCode, 200);
    await erasePerson(t.ctx, b.business.id, personId, { actor: 'dpo' });
    await t.processor.drain();
    for (const row of await inboxRows(t.ctx.database.db, b.business.id))
      assert.ok(!row.payload.includes(p.digits), `no number left: ${row.payload.slice(0, 200)}`);
  });

  it('a receipt for a number that was not erased keeps it', async () => {
    const { b, p, wamid } = await sentConfirmation();
    await t.deliver(
      statusUpdate({
        phoneNumberId: b.phoneNumberId,
        messageId: wamid,
        status: 'delivered',
        recipientId: p.digits,
        timestampMs: t.ctx.clock.now(),
      }),
    );
    const rows = await inboxRows(t.ctx.database.db, b.business.id);
    assert.ok(rows[0]!.payload.includes(p.digits));
  });
});
