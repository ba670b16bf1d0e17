import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, inboxRows, newNumber, personBy } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import { randomWamid, statusUpdate } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { createTopic } from '../../../src/services/admin/manage-topics.js';
import { registerText } from '../../../src/services/admin/manage-texts.js';
import { UNMATCHED_HOLD_MS } from '../../../src/services/whatsapp/apply-message-status.js';

forEachDialect('WhatsApp delivery statuses', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const gate = async (businessId: string, phone: string, topic: string) => {
    const d = await decideSend(t.ctx, businessId, { person: { phone }, topic });
    return d.reasons.map((r) => r.code).join(',') || d.outcome;
  };
  const message = (id: string) =>
    t.ctx.database.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  /** An opted-in person and the confirmation queued with it, "sent" by a worker that recorded the wamid. */
  async function sentConfirmation(opts: { recordWamid?: boolean; topics?: string[]; businessPolicy?: object } = {}) {
    const b = await t.business({ policy: opts.businessPolicy });
    const n = newNumber();
    let textHash = b.text.hash;
    if (opts.topics?.includes('offers')) {
      await createTopic(t.ctx, b.business.id, { key: 'offers', name: 'special offers', category: 'marketing' });
      textHash = (
        await registerText(t.ctx, b.business.id, {
          name: 'offers',
          language: 'en',
          topicKeys: ['delivery', 'offers'],
          body: `Yes, send me delivery updates and special offers from ${b.business.displayName} on WhatsApp. Reply STOP to opt out.`,
        })
      ).hash;
    }
    const r = await recordOptIn(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      topics: opts.topics ?? ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash,
      evidence: webEvidence,
      actor: 't',
    });
    const wamid = randomWamid();
    await t.ctx.database.db
      .updateTable('messages')
      .set(
        opts.recordWamid === false
          ? { status: 'unknown' }
          : { status: 'sent', provider_message_id: wamid, sent_at: t.ctx.clock.now() },
      )
      .where('id', '=', r.confirmationMessageId!)
      .execute();
    return { b, n, wamid, messageId: r.confirmationMessageId!, personId: r.personId };
  }
  const status = (phoneNumberId: string, messageId: string, s: string, atMs: number, extra: object = {}) =>
    statusUpdate({ phoneNumberId, messageId, status: s, timestampMs: atMs, ...extra });

  it('statuses only move forward: read before delivered, sent after read, duplicates: the message ends at read', async () => {
    const { b, wamid, messageId } = await sentConfirmation();
    const t0 = t.ctx.clock.now();
    for (const [s, dt] of [
      ['read', 30],
      ['delivered', 20],
      ['sent', 10],
      ['read', 30],
      ['delivered', 20],
    ] as const) {
      assert.equal((await t.deliver(status(b.phoneNumberId, wamid, s, t0 + dt * 1000))).statusCode, 200);
    }
    const m = await message(messageId);
    assert.equal(m.status, 'read');
    assert.equal(Number(m.status_at), t0 + 30_000, "status_at is Meta's time of the read");
  });

  it('failed wins whenever it comes, and nothing moves a failed message again', async () => {
    const { b, wamid, messageId } = await sentConfirmation();
    const t0 = t.ctx.clock.now();
    await t.deliver(status(b.phoneNumberId, wamid, 'delivered', t0 + 1000));
    await t.deliver(
      status(b.phoneNumberId, wamid, 'failed', t0 + 2000, {
        errors: [{ code: 131000, title: 'Something went wrong' }],
      }),
    );
    await t.deliver(status(b.phoneNumberId, wamid, 'read', t0 + 3000));
    const m = await message(messageId);
    assert.deepEqual([m.status, m.error_code], ['failed', '131000']);
  });

  it("a confirmation's outcome is in the ledger once: confirmation_sent on the first success status, then a failure if one comes", async () => {
    const { b, wamid, personId } = await sentConfirmation();
    const t0 = t.ctx.clock.now();
    for (const s of ['delivered', 'sent', 'read']) await t.deliver(status(b.phoneNumberId, wamid, s, t0 + 1000));
    let evs = (await events(t.ctx.database.db, b.business.id, personId)).map((e) => e.type);
    assert.deepEqual(evs, ['opt_in', 'confirmation_sent']);
    await t.deliver(
      status(b.phoneNumberId, wamid, 'failed', t0 + 5000, {
        errors: [{ code: 131026, title: 'Message undeliverable' }],
      }),
    );
    evs = (await events(t.ctx.database.db, b.business.id, personId)).map((e) => e.type);
    assert.deepEqual(evs, ['opt_in', 'confirmation_sent', 'confirmation_failed']);
  });

  it('131050 (the person stopped marketing in WhatsApp) opts out of marketing only', async () => {
    const { b, n, wamid, personId } = await sentConfirmation({
      topics: ['delivery', 'offers'],
      businessPolicy: { allowedCategories: ['utility', 'marketing'] },
    });
    assert.equal(await gate(b.business.id, n.e164, 'offers'), 'allow');
    await t.deliver(
      status(b.phoneNumberId, wamid, 'failed', t.ctx.clock.now(), {
        errors: [
          {
            code: 131050,
            title:
              'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.',
          },
        ],
      }),
    );
    assert.equal(await gate(b.business.id, n.e164, 'offers'), 'OPTED_OUT');
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'allow');
    const out = (await events(t.ctx.database.db, b.business.id, personId)).find((e) => e.type === 'opt_out')!;
    assert.deepEqual([out.scope, out.channel, out.action], ['marketing', 'meta', 'provider_report']);
  });

  it('131026 marks the number unreachable and leaves consent alone; a later message from the person clears it', async () => {
    const { b, n, wamid, personId } = await sentConfirmation();
    await t.deliver(
      status(b.phoneNumberId, wamid, 'failed', t.ctx.clock.now(), {
        errors: [{ code: 131026, title: 'Message undeliverable' }],
      }),
    );
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'UNREACHABLE');
    assert.ok(!(await events(t.ctx.database.db, b.business.id, personId)).some((e) => e.type === 'opt_out'));
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.ok(person.unreachable_at !== null);
  });

  it('a status for an unknown wamid is held and retried; biz_opaque_callback_data reconciles a send the worker never recorded', async () => {
    const { b, wamid, messageId } = await sentConfirmation({ recordWamid: false });
    const t0 = t.ctx.clock.now();
    // No bizOpaque, unknown wamid: held.
    await t.deliver(status(b.phoneNumberId, wamid, 'delivered', t0));
    let row = (await inboxRows(t.ctx.database.db, b.business.id)).at(-1)!;
    assert.deepEqual([row.outcome, row.processed_at], ['unmatched', null]);
    // The same message's read carries our id: matched at once, wamid learnt, message reconciled.
    await t.deliver(status(b.phoneNumberId, wamid, 'read', t0 + 5000, { bizOpaque: messageId }));
    let m = await message(messageId);
    assert.deepEqual([m.status, m.provider_message_id], ['read', wamid]);
    assert.ok(m.sent_at !== null, 'counts as sent for frequency caps');
    // The held delivered is retried later: stale by then, and done.
    t.ctx.clock.advance(10_000);
    await t.processor.drain();
    row = (await inboxRows(t.ctx.database.db, b.business.id)).find((r) => r.id === row.id)!;
    assert.equal(row.outcome, 'status_stale');
    assert.ok(row.processed_at !== null);
    m = await message(messageId);
    assert.equal(m.status, 'read');
  });

  it('an unknown wamid is given up after the hold, kept as unmatched', async () => {
    const b = await t.business();
    await t.deliver(status(b.phoneNumberId, randomWamid(), 'sent', t.ctx.clock.now()));
    t.ctx.clock.advance(UNMATCHED_HOLD_MS + 1000);
    await t.processor.drain();
    const [row] = await inboxRows(t.ctx.database.db, b.business.id);
    assert.equal(row!.outcome, 'unmatched');
    assert.ok(row!.processed_at !== null);
    assert.ok(Number(row!.attempts) >= 2);
  });
});
