import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, newNumber, personBy } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import { randomWamid } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';

/** G6: WhatsApp's `system` / `user_changed_number` (wire contracts 1.4, 8.8; docs/identity-changes.md). */
forEachDialect('number change', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const changed = (phoneNumberId: string, oldDigits: string, newDigits: string, id = randomWamid()) => ({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              messages: [
                {
                  from: oldDigits,
                  id,
                  timestamp: String(Math.floor(t.ctx.clock.now() / 1000)),
                  type: 'system',
                  system: {
                    type: 'user_changed_number',
                    body: `User A changed from ${oldDigits} to ${newDigits}`,
                    wa_id: newDigits,
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  });
  const gate = async (businessId: string, phone: string, topic: string) => {
    const d = await decideSend(t.ctx, businessId, { person: { phone }, topic });
    return d.reasons.map((r) => r.code).join(',') || d.outcome;
  };

  it('observation 5: a changed number stops the old number at once and moves consent to the new one, re-confirmed', async () => {
    const b = await t.business();
    const oldN = newNumber();
    const newN = newNumber();
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: oldN.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 'test',
    });
    const q = await queueMessage(t.ctx, b.business.id, {
      person: { phone: oldN.e164 },
      topic: 'delivery',
      template: { name: 'order_update', language: 'en' },
    });
    assert.equal(q.outcome, 'queued');
    t.ctx.clock.advance(1000);
    const env = changed(b.phoneNumberId, oldN.digits, newN.digits);
    assert.equal((await t.deliver(env)).statusCode, 200);

    // The old number: opted out, with the webhook as evidence; what was queued to it is cancelled.
    assert.equal(await gate(b.business.id, oldN.e164, 'delivery'), 'OPTED_OUT');
    const queued = await t.ctx.database.db
      .selectFrom('messages')
      .select(['status', 'error_code'])
      .where('id', '=', q.message.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(queued, { status: 'cancelled', error_code: 'OPTED_OUT' });
    const oldP = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', oldN.e164))!;
    const stop = (await events(t.ctx.database.db, b.business.id, oldP.id)).at(-1)!;
    assert.deepEqual([stop.type, stop.scope, stop.channel, stop.action], ['opt_out', 'all', 'meta', 'provider_report']);
    const ev = await t.ctx.database.db
      .selectFrom('consent_evidence')
      .select('evidence')
      .where('event_id', '=', stop.id)
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(ev.evidence).newWaId, newN.digits);

    // The new number: its own event (the move), the consent the person had, and a confirmation queued to it.
    const newP = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', newN.e164))!;
    assert.ok(newP, 'the new number is a person');
    const moved = await events(t.ctx.database.db, b.business.id, newP.id);
    assert.deepEqual(
      moved.map((e) => [e.type, e.channel, e.action, e.topic_keys]),
      [['opt_in', 'meta', 'provider_report', '["delivery"]']],
    );
    assert.equal(await gate(b.business.id, newN.e164, 'delivery'), 'allow');
    assert.equal(
      await gate(b.business.id, newN.e164, 'billing'),
      'NO_CONSENT',
      'only what the person had agreed to moves',
    );
    const conf = await t.ctx.database.db
      .selectFrom('messages')
      .select(['kind', 'status', 'related_event_id'])
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', newP.id)
      .execute();
    assert.deepEqual(conf, [{ kind: 'confirmation', status: 'queued', related_event_id: moved[0]!.id }]);
    const review = await t.ctx.database.db
      .selectFrom('review_items')
      .selectAll()
      .where('business_id', '=', b.business.id)
      .where('reason', '=', 'user_changed_number')
      .execute();
    assert.equal(review.length, 1, 'staff still see it');

    // Redelivered: nothing more.
    assert.equal((await t.deliver(env)).statusCode, 200);
    assert.equal((await events(t.ctx.database.db, b.business.id, newP.id)).length, 1);
    assert.equal((await events(t.ctx.database.db, b.business.id, oldP.id)).length, 2);
  });

  it('a changed number of someone without consent only stops the old number; an unknown number moves nothing', async () => {
    const b = await t.business();
    const unknownOld = newNumber();
    const target = newNumber();
    assert.equal((await t.deliver(changed(b.phoneNumberId, unknownOld.digits, target.digits))).statusCode, 200);
    assert.equal(await personBy(t.ctx.database.db, b.business.id, 'phone_e164', target.e164), undefined);
  });
});
