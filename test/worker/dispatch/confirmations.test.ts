import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { harness, sentFor } from './helpers.js';

const A = '+447911123456';

async function ledger(h: Awaited<ReturnType<typeof harness>>, personId: string) {
  return h.ctx.database.db
    .selectFrom('consent_events')
    .select(['type', 'source_ref', 'topic_keys'])
    .where('business_id', '=', h.business.id)
    .where('person_id', '=', personId)
    .orderBy('seq')
    .execute();
}

forEachDialect('dispatch worker: opt-in confirmations', (db) => {
  it('inside the window: free-form text naming the business, the topics, WhatsApp and STOP; one confirmation_sent', async (t) => {
    const h = await harness(db(), { name: 'Acme Shoes' });
    t.after(() => h.close());
    const { personId, confirmationId } = await h.optIn(A, ['delivery', 'billing']);
    await h.setLastInbound(personId, h.ctx.clock.now() - 3_600_000);
    await h.worker.tick();
    const m = await h.message(confirmationId!);
    assert.equal(m.status, 'sent');
    const [sent] = sentFor(h.fake, confirmationId!);
    assert.equal(sent?.body.type, 'text');
    const body = sent?.body.text.body as string;
    for (const part of ['Acme Shoes', 'WhatsApp', 'Reply STOP to unsubscribe'])
      assert.ok(body.includes(part), `${part} in: ${body}`);
    assert.ok(/billing alerts and delivery updates|delivery updates and billing alerts/.test(body), body);
    const events = await ledger(h, personId);
    assert.deepEqual(
      events.map((e) => e.type),
      ['opt_in', 'confirmation_sent'],
    );
    // A second recording of the same outcome (the status webhook) adds nothing.
    const { recordConfirmationOutcomeTx } =
      await import('../../../src/services/consent/record-confirmation-outcome.js');
    const row = await db()
      .db.selectFrom('messages')
      .selectAll()
      .where('business_id', '=', h.business.id)
      .where('id', '=', confirmationId!)
      .executeTakeFirstOrThrow();
    const again = await db().transaction((trx) =>
      recordConfirmationOutcomeTx(
        h.ctx,
        trx,
        row,
        { outcome: 'sent', occurredAt: h.ctx.clock.now(), actor: 'webhook' },
        h.ctx.clock.now(),
      ),
    );
    assert.equal(again, null);
  });

  it('in Spanish and Portuguese, with a fallback to English', async (t) => {
    const h = await harness(db(), { name: 'Tienda' });
    t.after(() => h.close());
    const cases: [string, string, RegExp][] = [
      ['+34600000001', 'es', /Responde STOP para darte de baja/],
      ['+5511999990001', 'pt-BR', /Responda STOP para cancelar/],
      ['+447911000001', 'xx', /Reply STOP to unsubscribe/],
    ];
    for (const [phone, language, re] of cases) {
      const { personId, confirmationId } = await h.optIn(phone, ['delivery'], { language });
      await h.setLastInbound(personId, h.ctx.clock.now());
      await h.worker.tick();
      const body = sentFor(h.fake, confirmationId!)[0]?.body.text.body as string;
      assert.match(body, re, `${language}: ${body}`);
      assert.ok(body.includes('Tienda') && body.includes('WhatsApp'));
    }
  });

  it('double opt-in inside the window: Confirm / Not me buttons carrying the opt-in event id', async (t) => {
    const h = await harness(db(), { policy: { doubleOptIn: true } });
    t.after(() => h.close());
    const { personId, confirmationId, eventId } = await h.optIn(A);
    await h.setLastInbound(personId, h.ctx.clock.now());
    await h.worker.tick();
    const body = sentFor(h.fake, confirmationId!)[0]?.body;
    assert.equal(body?.type, 'interactive');
    assert.deepEqual(body?.interactive.action.buttons, [
      { type: 'reply', reply: { id: `optline:confirm:${eventId}`, title: 'Confirm' } },
      { type: 'reply', reply: { id: `optline:notme:${eventId}`, title: 'Not me' } },
    ]);
    assert.match(body?.interactive.body.text, /Reply STOP/);
    assert.equal((await h.message(confirmationId!)).status, 'sent', 'pending consent still lets the confirmation go');
  });

  it('outside the window: the business template, with its name and the topics, and confirm/not-me payloads for double opt-in', async (t) => {
    const h = await harness(db(), {
      name: 'Acme',
      policy: { doubleOptIn: true, confirmationTemplate: { name: 'optin_confirm_v1', language: 'en_US' } },
    });
    t.after(() => h.close());
    const { confirmationId, eventId } = await h.optIn(A);
    await h.worker.tick();
    const body = sentFor(h.fake, confirmationId!)[0]?.body;
    assert.equal(body?.type, 'template');
    assert.deepEqual(body?.template, {
      name: 'optin_confirm_v1',
      language: { code: 'en_US' },
      components: [
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Acme' },
            { type: 'text', text: 'delivery updates' },
          ],
        },
        {
          type: 'button',
          sub_type: 'quick_reply',
          index: '0',
          parameters: [{ type: 'payload', payload: `optline:confirm:${eventId}` }],
        },
        {
          type: 'button',
          sub_type: 'quick_reply',
          index: '1',
          parameters: [{ type: 'payload', payload: `optline:notme:${eventId}` }],
        },
      ],
    });
  });

  it('outside the window with no template: failed NEEDS_TEMPLATE, a confirmation_failed event, nothing sent', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const { personId, confirmationId } = await h.optIn(A);
    await h.worker.tick();
    const m = await h.message(confirmationId!);
    assert.equal(m.status, 'failed');
    assert.equal(m.errorCode, 'NEEDS_TEMPLATE');
    assert.equal(h.fake.sent.length, 0);
    assert.deepEqual(
      (await ledger(h, personId)).map((e) => e.type),
      ['opt_in', 'confirmation_failed'],
    );
  });

  it('a confirmation whose topics were all opted out before it left is cancelled', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const { confirmationId } = await h.optIn(A, ['delivery']);
    // Opt out of the topic without the opt-out cancelling the confirmation (a topic-scoped opt-out cancels
    // only that topic's notifications), so the claim has to notice.
    h.ctx.clock.advance(1000);
    await recordOptOut(h.ctx, h.business.id, {
      person: { phone: A },
      scope: 'topics',
      topics: ['delivery'],
      channel: 'web',
      action: 'clicked_link',
      evidence: { ip: '1.2.3.4' },
      actor: 't',
    });
    await h.worker.tick();
    const m = await h.message(confirmationId!);
    assert.equal(m.status, 'cancelled');
    assert.equal(m.errorCode, 'OPTED_OUT');
    assert.equal(h.fake.sent.length, 0);
  });

  it('replies go inside the window without a consent check, and are cancelled once it has closed', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const { queueReplyTx } = await import('../../../src/services/dispatch/queue-reply.js');
    const { personId } = await h.optIn(A);
    await recordOptOut(h.ctx, h.business.id, {
      person: { phone: A },
      scope: 'all',
      channel: 'whatsapp',
      action: 'sent_keyword',
      evidence: { messageId: 'wamid.stop' },
      actor: 't',
    });
    await h.setLastInbound(personId, h.ctx.clock.now());
    const ack = await db().transaction((trx) =>
      queueReplyTx(
        trx,
        { businessId: h.business.id, personId, purpose: 'optout_ack', text: 'You are unsubscribed.' },
        h.ctx.clock.now(),
      ),
    );
    const late = await db().transaction((trx) =>
      queueReplyTx(trx, { businessId: h.business.id, personId, purpose: 'support', text: 'Later' }, h.ctx.clock.now()),
    );
    await db()
      .db.updateTable('messages')
      .set({ not_before: h.ctx.clock.now() + 25 * 3_600_000 })
      .where('business_id', '=', h.business.id)
      .where('id', '=', late.id)
      .execute();
    await h.worker.tick();
    assert.equal(
      (await h.message(ack.id)).status,
      'sent',
      'the opt-out acknowledgement goes although the person opted out',
    );
    assert.equal(sentFor(h.fake, ack.id)[0]?.body.text.body, 'You are unsubscribed.');
    h.ctx.clock.advance(25 * 3_600_000);
    await h.worker.tick();
    const m = await h.message(late.id);
    assert.equal(m.status, 'cancelled');
    assert.equal(m.errorCode, 'WINDOW_CLOSED');
  });
});
