import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { updateBusiness } from '../../../src/services/admin/manage-businesses.js';
import { harness, sentFor, PHONE_NUMBER_ID, WORKER_CONFIG } from './helpers.js';

const A = '+447911123456';
const B = '+447911123457';

forEachDialect('dispatch worker: send and gate at claim', (db) => {
  it('sends a queued notification: sent, provider id, template body, our id as biz_opaque_callback_data', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    const m = await h.queue(A, 'delivery', {
      name: 'order_update',
      language: 'en_US',
      bodyParams: ['#42'],
      buttonPayloads: ['track'],
    });
    assert.ok((await h.worker.tick()) >= 1);
    const after = await h.message(m.id);
    assert.equal(after.status, 'sent');
    assert.match(after.providerMessageId ?? '', /^wamid\./);
    assert.equal(after.sentAt, h.ctx.clock.now());
    assert.equal(after.attempts, 1);
    assert.equal(after.leaseOwner, null);
    const [sent] = sentFor(h.fake, m.id);
    assert.ok(sent, 'the fake received it');
    assert.equal(sent.phoneNumberId, PHONE_NUMBER_ID);
    assert.equal(sent.messageId, after.providerMessageId);
    assert.equal(sent.body.to, A);
    assert.equal(sent.body.type, 'template');
    assert.deepEqual(sent.body.template, {
      name: 'order_update',
      language: { code: 'en_US' },
      components: [
        { type: 'body', parameters: [{ type: 'text', text: '#42' }] },
        { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'track' }] },
      ],
    });
    assert.equal(h.worker.metrics().sent >= 1, true);
  });

  it('an opt-out committed after queueing stops the message: cancelled by the opt-out, refused if the claim sees opted_out', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    await h.optIn(B);
    const ma = await h.queue(A);
    const mb = await h.queue(B);
    h.ctx.clock.advance(1000);
    await recordOptOut(h.ctx, h.business.id, {
      person: { phone: A },
      scope: 'all',
      channel: 'whatsapp',
      action: 'sent_keyword',
      evidence: { messageId: 'wamid.in1' },
      actor: 't',
    });
    // B's state turns opted_out without its messages being cancelled (as if by a path that only projects state):
    // the claim's own gate check must still stop it.
    await db()
      .db.updateTable('consent_state')
      .set({ status: 'opted_out' })
      .where('business_id', '=', h.business.id)
      .execute();
    await h.worker.tick();
    assert.equal((await h.message(ma.id)).status, 'cancelled');
    const b = await h.message(mb.id);
    assert.equal(b.status, 'refused');
    assert.equal(b.errorCode, 'OPTED_OUT');
    assert.equal(sentFor(h.fake, ma.id).length + sentFor(h.fake, mb.id).length, 0, 'nothing reached Meta');
    assert.equal(h.worker.metrics().refusedAtClaim >= 1, true);
  });

  it('quiet hours that began after queueing defer the message at claim, and it leaves when they end', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    const m = await h.queue(A);
    // The clock says 12:00 UTC; the person's time zone is the policy's default (UTC) here.
    await db().db.updateTable('people').set({ timezone: null }).where('business_id', '=', h.business.id).execute();
    await updateBusiness(h.ctx, h.business.id, {
      policy: { quietHours: { start: '12:00', end: '15:00', defaultTimezone: 'UTC' } },
    });
    await h.worker.tick();
    const deferred = await h.message(m.id);
    assert.equal(deferred.status, 'queued');
    assert.equal(deferred.errorCode, 'QUIET_HOURS');
    assert.equal(deferred.notBefore, Date.UTC(2026, 5, 1, 15, 0, 0), 'until the quiet hours end');
    assert.equal(deferred.attempts, 0, 'a deferral is not a try');
    h.ctx.clock.set(deferred.notBefore);
    await h.worker.tick();
    const sent = await h.message(m.id);
    assert.equal(sent.status, 'sent');
    assert.equal(sent.errorCode, null);
  });

  it('frequency caps count queued messages and those in flight at another worker, at enqueue as at claim', async (t) => {
    const h = await harness(db(), { policy: { frequencyCaps: [{ topic: '*', max: 2, windowHours: 24 }] } });
    t.after(() => h.close());
    await h.optIn(A);
    // The enqueue gate counts queued and in-flight messages as the claim does: the third is refused at once.
    const [m1, m2] = [await h.queue(A), await h.queue(A)];
    await assert.rejects(h.queue(A), /refused at enqueue: FREQUENCY_CAPPED/);
    await db()
      .db.updateTable('messages')
      .set({ status: 'sending', lease_owner: 'wrk_other', lease_until: h.ctx.clock.now() + 60_000 })
      .where('business_id', '=', h.business.id)
      .where('id', '=', m1!.id)
      .execute();
    await assert.rejects(
      h.queue(A),
      /refused at enqueue: FREQUENCY_CAPPED/,
      'the one in flight at another worker counts',
    );
    await h.worker.tick();
    assert.equal((await h.message(m2!.id)).status, 'sent', 'the two accepted are not refused later');
    assert.equal(sentFor(h.fake, m2!.id).length, 1);
  });

  it('a business with no WhatsApp number: the message fails CHANNEL_NOT_CONFIGURED, once', async (t) => {
    const h = await harness(db(), { channel: false });
    t.after(() => h.close());
    await h.optIn(A);
    const m = await h.queue(A);
    await h.worker.tick();
    const after = await h.message(m.id);
    assert.equal(after.status, 'failed');
    assert.equal(after.errorCode, 'CHANNEL_NOT_CONFIGURED');
    assert.equal(h.fake.sent.length, 0);
    h.ctx.clock.advance(3_600_000);
    assert.equal(await h.worker.tick(), 0, 'never retried');
  });

  it('a person known only by BSUID is addressed with `recipient`', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const bsuid = 'US.13491208655302741918';
    const { recordOptIn } = await import('../../../src/services/consent/record-opt-in.js');
    const { queueMessage } = await import('../../../src/services/dispatch/queue-message.js');
    await recordOptIn(h.ctx, h.business.id, {
      person: { bsuid },
      topics: ['delivery'],
      channel: 'whatsapp',
      action: 'sent_keyword',
      evidence: { messageId: 'wamid.x' },
      actor: 't',
    });
    const q = await queueMessage(h.ctx, h.business.id, {
      person: { bsuid },
      topic: 'delivery',
      template: { name: 'order_update', language: 'en' },
    });
    if (q.outcome === 'refused') throw new Error('refused at enqueue');
    await h.worker.tick();
    const [sent] = sentFor(h.fake, q.message.id);
    assert.equal(sent?.body.recipient, bsuid);
    assert.equal(sent?.body.to, undefined);
    assert.equal((await h.message(q.message.id)).status, 'sent');
  });

  it('a call whose shared slot passed more than 20 ms before its start step goes back for a new slot, once', async (t) => {
    // 5/s: A's slot is now, B's 200 ms on. B's wait moves the clock 200 ms before A's start step decides, as a worker
    // stalled that long would find it: A would leave with B, so it is queued again (SLOT_MISSED), no call made.
    const h = await harness(db(), { ratePerSecond: 5 });
    t.after(() => h.close());
    await h.optIn(A);
    await h.optIn(B);
    await h.dropConfirmations();
    const ma = await h.queue(A);
    const mb = await h.queue(B);
    await h.worker.tick();
    const a = await h.message(ma.id);
    assert.deepEqual(
      [a.status, a.errorCode, a.attempts],
      ['queued', 'SLOT_MISSED', 0],
      'back in the queue, try uncounted',
    );
    assert.equal(sentFor(h.fake, ma.id).length, 0, 'no call for the late one');
    assert.equal((await h.message(mb.id)).status, 'sent', 'B was on time');
    assert.equal(h.worker.metrics().missedSlots, 1);
    // The next round gives it a new slot; a message that missed once is not held back again.
    h.ctx.clock.advance(1000);
    await h.worker.tick();
    assert.equal((await h.message(ma.id)).status, 'sent');
    assert.equal(sentFor(h.fake, ma.id).length, 1);
  });

  it('a message held back by the pacer is checked again before it leaves: an opt-out meanwhile stops it', async (t) => {
    let optOutDuringWait: (() => Promise<unknown>) | null = null;
    const h = await harness(db(), {
      ratePerSecond: 5,
      worker: {
        // The test clock jumps 200 ms while B waits, before A's start step: A is not late for real.
        config: { ...WORKER_CONFIG, lateSlotMs: 1000 },
        sleep: async (ms) => {
          h.ctx.clock.advance(ms);
          const f = optOutDuringWait;
          optOutDuringWait = null;
          await f?.();
        },
      },
    });
    t.after(() => h.close());
    await h.optIn(A);
    await h.optIn(B);
    await h.dropConfirmations();
    const ma = await h.queue(A);
    const mb = await h.queue(B);
    // 5/s: A goes at once, B 200 ms later; B opts out while it waits.
    optOutDuringWait = () =>
      recordOptOut(h.ctx, h.business.id, {
        person: { phone: B },
        scope: 'all',
        channel: 'whatsapp',
        action: 'sent_keyword',
        evidence: { messageId: 'wamid.stop-b' },
        actor: 't',
      });
    assert.equal(await h.worker.tick(), 2);
    assert.equal((await h.message(ma.id)).status, 'sent');
    const b = await h.message(mb.id);
    assert.deepEqual([b.status, b.errorCode], ['cancelled', 'OPTED_OUT']);
    assert.equal(sentFor(h.fake, mb.id).length, 0, 'never left');
    assert.equal(h.worker.metrics().skippedCancelled, 1);
    assert.equal(h.worker.metrics().sentAfterCancel, 0);
  });
});
