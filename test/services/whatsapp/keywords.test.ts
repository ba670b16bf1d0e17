import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, inboxRows, newNumber, personBy, replies } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import { inboundText } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { DEFAULT_KEYWORD_REPLIES } from '../../../src/domain/chat/keyword-replies.js';

forEachDialect('WhatsApp chat keywords', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const optIn = (businessId: string, phone: string, textHash: string, topics = ['delivery', 'billing']) =>
    recordOptIn(t.ctx, businessId, {
      person: { phone },
      topics,
      channel: 'web',
      action: 'checked_box',
      textHash,
      evidence: webEvidence,
      actor: 'test',
    });
  const text = (phoneNumberId: string, from: string, body: string, extra: { forwarded?: boolean; id?: string } = {}) =>
    inboundText({ phoneNumberId, from, text: body, timestampMs: t.ctx.clock.now(), ...extra });
  const gate = async (businessId: string, phone: string, topic: string) => {
    const d = await decideSend(t.ctx, businessId, { person: { phone }, topic });
    return d.reasons.map((r) => r.code).join(',') || d.outcome;
  };

  it('every form of STOP opts out of everything, cancels what was queued, and is acknowledged once in its language', async () => {
    const b = await t.business({ name: 'Corner Shop' });
    const forms: [string, string][] = [
      ['STOP', 'en'],
      ['stop.', 'en'],
      [' Stop 🛑', 'en'],
      ['ＳＴＯＰ', 'en'],
      ['BAJA', 'es'],
      ['arrêt', 'fr'],
      ['Unsubscribe!!', 'en'],
    ];
    for (const [form, lang] of forms) {
      const n = newNumber();
      await optIn(b.business.id, n.e164, b.text.hash);
      const q = await queueMessage(t.ctx, b.business.id, {
        person: { phone: n.e164 },
        topic: 'delivery',
        template: { name: 'order_update', language: 'en' },
      });
      assert.equal(q.outcome, 'queued');
      t.ctx.clock.advance(1000);
      const r = await t.deliver(text(b.phoneNumberId, n.digits, form));
      assert.equal(r.statusCode, 200);
      assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'OPTED_OUT', form);
      assert.equal(await gate(b.business.id, n.e164, 'billing'), 'OPTED_OUT', form);
      const queued = await t.ctx.database.db
        .selectFrom('messages')
        .select(['status', 'error_code'])
        .where('id', '=', q.message.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        queued,
        { status: 'cancelled', error_code: 'OPTED_OUT' },
        `${form}: the queued notification is cancelled`,
      );
      const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
      const acks = await replies(t.ctx.database.db, b.business.id, person.id);
      assert.equal(acks.length, 1, `${form}: one acknowledgement`);
      assert.equal(acks[0]!.status, 'queued');
      assert.equal(acks[0]!.payload.purpose, 'optout_ack');
      assert.equal(
        acks[0]!.payload.text,
        DEFAULT_KEYWORD_REPLIES[lang]!.opt_out.replace('{business}', 'Corner Shop'),
        form,
      );
      const out = (await events(t.ctx.database.db, b.business.id, person.id)).filter((e) => e.type === 'opt_out');
      assert.equal(out.length, 1);
      assert.deepEqual([out[0]!.scope, out[0]!.channel, out[0]!.action], ['all', 'whatsapp', 'sent_keyword']);
    }
  });

  it('a redelivered STOP changes nothing: one event, one acknowledgement', async () => {
    const b = await t.business();
    const n = newNumber();
    await optIn(b.business.id, n.e164, b.text.hash);
    const env = text(b.phoneNumberId, n.digits, 'STOP');
    for (let i = 0; i < 3; i++) assert.equal((await t.deliver(env)).statusCode, 200);
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.equal(
      (await events(t.ctx.database.db, b.business.id, person.id)).filter((e) => e.type === 'opt_out').length,
      1,
    );
    assert.equal((await replies(t.ctx.database.db, b.business.id, person.id)).length, 1);
    assert.equal((await inboxRows(t.ctx.database.db, b.business.id)).length, 1);
  });

  it('"don\'t stop my order" is a review item and a reply naming STOP: consent and the ledger are untouched', async () => {
    const b = await t.business();
    const n = newNumber();
    await optIn(b.business.id, n.e164, b.text.hash);
    await t.deliver(text(b.phoneNumberId, n.digits, "don't stop my order"));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'allow');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.deepEqual(
      (await events(t.ctx.database.db, b.business.id, person.id)).map((e) => e.type),
      ['opt_in'],
    );
    const answers = await replies(t.ctx.database.db, b.business.id, person.id);
    assert.deepEqual(
      answers.map((r) => r.payload.purpose),
      ['help'],
    );
    assert.match(answers[0]!.payload.text, /Reply STOP to stop all messages/);
    const items = await t.ctx.database.db
      .selectFrom('review_items')
      .selectAll()
      .where('business_id', '=', b.business.id)
      .execute();
    assert.equal(items.length, 1);
    assert.equal(items[0]!.reason, 'keyword_mention');
    assert.equal(items[0]!.person_id, person.id);
    const detail = JSON.parse(items[0]!.detail);
    assert.equal(detail.text, "don't stop my order");
    assert.equal(detail.keyword, 'STOP');
    assert.equal(detail.rule, 'keyword_in_sentence');
  });

  it('a forwarded STOP counts, with the forward in the evidence', async () => {
    const b = await t.business();
    const n = newNumber();
    await optIn(b.business.id, n.e164, b.text.hash);
    await t.deliver(text(b.phoneNumberId, n.digits, 'STOP', { forwarded: true }));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'OPTED_OUT');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const ev = (await events(t.ctx.database.db, b.business.id, person.id)).find((e) => e.type === 'opt_out')!;
    const evidence = JSON.parse(
      (
        await t.ctx.database.db
          .selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', ev.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(evidence.forwarded, true);
    assert.equal(evidence.text, 'STOP');
    assert.ok(String(evidence.messageId).startsWith('wamid.'));
  });

  it('START after STOP restores exactly the topics the STOP took, with the confirmation as acknowledgement', async () => {
    const b = await t.business();
    const n = newNumber();
    await optIn(b.business.id, n.e164, b.text.hash, ['delivery']);
    t.ctx.clock.advance(1000);
    await t.deliver(text(b.phoneNumberId, n.digits, 'STOP'));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'OPTED_OUT');
    t.ctx.clock.advance(1000);
    await t.deliver(text(b.phoneNumberId, n.digits, 'start'));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'allow');
    assert.equal(
      await gate(b.business.id, n.e164, 'billing'),
      'OPTED_OUT',
      'never agreed to billing: START does not give it',
    );
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const evs = await events(t.ctx.database.db, b.business.id, person.id);
    assert.deepEqual(
      evs.map((e) => e.type),
      ['opt_in', 'opt_out', 'opt_in'],
    );
    // START names its candidates (every live topic); the projection gives back only what the person's STOP took.
    assert.deepEqual([evs[2]!.channel, evs[2]!.action, evs[2]!.scope], ['whatsapp', 'sent_keyword', 'restore']);
    const confirmations = await t.ctx.database.db
      .selectFrom('messages')
      .select(['kind', 'status'])
      .where('person_id', '=', person.id)
      .where('kind', '=', 'confirmation')
      .where('status', '=', 'queued')
      .execute();
    assert.equal(confirmations.length, 1, 'P4: the re-opt-in is confirmed');
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, person.id)).map((r) => r.payload.purpose),
      ['optout_ack'],
    );

    // A second START has nothing left to restore: on the record all the same (G4), a HELP-style answer.
    t.ctx.clock.advance(1000);
    await t.deliver(text(b.phoneNumberId, n.digits, 'START'));
    assert.equal((await events(t.ctx.database.db, b.business.id, person.id)).length, 4);
    assert.equal(await gate(b.business.id, n.e164, 'billing'), 'OPTED_OUT');
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, person.id)).map((r) => r.payload.purpose),
      ['optout_ack', 'help'],
    );
  });

  it('START without any STOP gives nothing (it is recorded, G4) and answers with the help text; HELP answers too', async () => {
    const b = await t.business({ name: 'Baker' });
    const n = newNumber();
    await t.deliver(text(b.phoneNumberId, n.digits, 'START'));
    await t.deliver(text(b.phoneNumberId, n.digits, 'help'));
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.deepEqual(
      (await events(t.ctx.database.db, b.business.id, person.id)).map((e) => `${e.type}:${e.scope}`),
      ['opt_in:restore'],
    );
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'NO_CONSENT');
    const r = await replies(t.ctx.database.db, b.business.id, person.id);
    assert.deepEqual(
      r.map((x) => x.payload.purpose),
      ['help', 'help'],
    );
    assert.equal(r[0]!.payload.text, DEFAULT_KEYWORD_REPLIES.en!.help.replace('{business}', 'Baker'));
  });

  it("START does not undo an opt-out made by staff or by a provider, only the person's own STOP", async () => {
    const b = await t.business();
    const n = newNumber();
    await optIn(b.business.id, n.e164, b.text.hash);
    t.ctx.clock.advance(1000);
    await recordOptOut(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      scope: 'all',
      channel: 'api',
      action: 'staff_request',
      evidence: { ticket: 'T-9' },
      actor: 'test',
    });
    t.ctx.clock.advance(1000);
    await t.deliver(text(b.phoneNumberId, n.digits, 'START'));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'OPTED_OUT');
  });

  it('a first message from a stranger opens the window and creates no consent', async () => {
    const b = await t.business();
    const n = newNumber();
    const at = t.ctx.clock.now();
    await t.deliver(text(b.phoneNumberId, n.digits, 'Hi, where is my parcel?'));
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.equal(Number(person.last_inbound_at), Math.floor(at / 1000) * 1000);
    assert.equal(person.wa_id, n.digits);
    assert.equal((await events(t.ctx.database.db, b.business.id, person.id)).length, 0);
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'NO_CONSENT');
    assert.equal((await replies(t.ctx.database.db, b.business.id, person.id)).length, 0);
    const [row] = await inboxRows(t.ctx.database.db, b.business.id);
    assert.equal(row!.outcome, 'inbound');
    assert.ok(row!.processed_at !== null);
  });
});
