import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, inboxRows, newNumber, personBy, replies } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import {
  inboundButton,
  inboundInteractive,
  inboundText,
  legacyPreferenceSystem,
  userPreference,
} from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { createTopic } from '../../../src/services/admin/manage-topics.js';
import { registerText } from '../../../src/services/admin/manage-texts.js';
import { confirmReplyId, notMeReplyId, optInReplyId, optOutTopicReplyId } from '../../../src/domain/chat/actions.js';

forEachDialect('WhatsApp buttons, lists and Meta preferences', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const gate = async (businessId: string, person: { phone?: string; bsuid?: string }, topic: string) => {
    const d = await decideSend(t.ctx, businessId, { person, topic });
    return d.reasons.map((r) => r.code).join(',') || d.outcome;
  };

  /** A business that may send marketing, with a person opted into delivery (utility) and offers (marketing). */
  async function marketingSetup() {
    const b = await t.business({ policy: { allowedCategories: ['utility', 'marketing'] } });
    await createTopic(t.ctx, b.business.id, { key: 'offers', name: 'special offers', category: 'marketing' });
    const text = await registerText(t.ctx, b.business.id, {
      name: 'with-offers',
      language: 'en',
      topicKeys: ['delivery', 'offers'],
      body: `Yes, send me delivery updates and special offers from ${b.business.displayName} on WhatsApp. Reply STOP at any time to opt out.`,
    });
    assert.ok(text.usable, JSON.stringify(text.checks));
    const n = newNumber();
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      topics: ['delivery', 'offers'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    t.ctx.clock.advance(1000);
    return { b, n };
  }

  it('the template quick reply OPTOUT_MARKETING / "Stop promotions" stops marketing only; utility still goes', async () => {
    for (const [payload, label] of [
      ['OPTOUT_MARKETING', 'Stop promotions'],
      ['Stop promotions', 'Stop promotions'],
    ] as const) {
      const { b, n } = await marketingSetup();
      await t.deliver(
        inboundButton({
          phoneNumberId: b.phoneNumberId,
          from: n.digits,
          payload,
          text: label,
          timestampMs: t.ctx.clock.now(),
        }),
      );
      assert.equal(await gate(b.business.id, { phone: n.e164 }, 'offers'), 'OPTED_OUT', payload);
      assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'allow', payload);
      const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
      const out = (await events(t.ctx.database.db, b.business.id, person.id)).at(-1)!;
      assert.deepEqual(
        [out.type, out.scope, out.action, out.topic_keys],
        ['opt_out', 'marketing', 'tapped_button', '["offers"]'],
      );
      assert.equal(
        (await replies(t.ctx.database.db, b.business.id, person.id)).length,
        0,
        'no "you will receive nothing" reply for a marketing stop',
      );
    }
  });

  it('a template button whose label is an opt-out keyword stops everything, acknowledged', async () => {
    const { b, n } = await marketingSetup();
    await t.deliver(
      inboundButton({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        payload: 'Unsubscribe',
        text: 'Unsubscribe',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'OPTED_OUT');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, person.id)).map((r) => r.payload.purpose),
      ['optout_ack'],
    );
  });

  it("a business's own template button only refreshes the window", async () => {
    const { b, n } = await marketingSetup();
    await t.deliver(
      inboundButton({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        payload: 'TRACK_ORDER',
        text: 'Track my order',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'offers'), 'allow');
    assert.equal((await inboxRows(t.ctx.database.db, b.business.id))[0]!.outcome, 'ignored_button');
  });

  it("Meta's user_preferences stop opts out of marketing only; resume opts nobody in but is kept for staff", async () => {
    const { b, n } = await marketingSetup();
    await t.deliver(
      userPreference({ phoneNumberId: b.phoneNumberId, waId: n.digits, value: 'stop', timestampMs: t.ctx.clock.now() }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'offers'), 'OPTED_OUT');
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'allow');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const out = (await events(t.ctx.database.db, b.business.id, person.id)).at(-1)!;
    assert.deepEqual([out.scope, out.channel, out.action], ['marketing', 'meta', 'toggled_setting']);
    assert.equal(person.last_inbound_at, null, 'a settings change is not a message: the window stays closed');

    t.ctx.clock.advance(60_000);
    await t.deliver(
      userPreference({
        phoneNumberId: b.phoneNumberId,
        waId: n.digits,
        value: 'resume',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'offers'), 'OPTED_OUT', "resume is only Meta's setting");
    const items = await t.ctx.database.db
      .selectFrom('review_items')
      .selectAll()
      .where('business_id', '=', b.business.id)
      .execute();
    assert.deepEqual(
      items.map((i) => [i.reason, i.person_id]),
      [['meta_marketing_resumed', person.id]],
    );
  });

  it('the legacy system form of the preference change is the same opt-out', async () => {
    const { b, n } = await marketingSetup();
    await t.deliver(
      legacyPreferenceSystem({
        phoneNumberId: b.phoneNumberId,
        waId: n.digits,
        value: 'stop',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'offers'), 'OPTED_OUT');
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'allow');
  });

  it("the opt-in prompt's Yes records the opt-in with the tap and the text as evidence; No thanks records nothing", async () => {
    const b = await t.business();
    const n = newNumber();
    await t.deliver(
      inboundInteractive({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        replyType: 'button_reply',
        id: 'optline:dismiss',
        title: 'No thanks',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'NO_CONSENT');
    await t.deliver(
      inboundInteractive({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        replyType: 'list_reply',
        id: optInReplyId(b.text.hash),
        title: 'Yes',
        contextMessageId: 'wamid.PROMPT',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'allow');
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'billing'), 'allow');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const ev = (await events(t.ctx.database.db, b.business.id, person.id))[0]!;
    assert.deepEqual(
      [ev.type, ev.channel, ev.action, ev.text_hash],
      ['opt_in', 'whatsapp', 'selected_list_item', b.text.hash],
    );
    const evidence = JSON.parse(
      (
        await t.ctx.database.db
          .selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', ev.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(evidence.contextMessageId, 'wamid.PROMPT');
  });

  it('a list reply for one topic opts out of that topic only; an unknown topic is refused without a 500', async () => {
    const b = await t.business();
    const n = newNumber();
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      topics: ['delivery', 'billing'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    t.ctx.clock.advance(1000);
    await t.deliver(
      inboundInteractive({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        replyType: 'list_reply',
        id: optOutTopicReplyId('billing'),
        title: 'Stop billing',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'billing'), 'OPTED_OUT');
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'allow');
    const r = await t.deliver(
      inboundInteractive({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        replyType: 'list_reply',
        id: optOutTopicReplyId('nope'),
        title: 'Stop nope',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(r.statusCode, 200);
    assert.ok(
      (await inboxRows(t.ctx.database.db, b.business.id)).some((row) => row.outcome === 'refused:UNKNOWN_TOPIC'),
    );
  });

  it('double opt-in: Confirm completes the pending opt-in; "Not me" stops everything', async () => {
    const b = await t.business({ policy: { doubleOptIn: true } });
    const n = newNumber();
    const optIn = await recordOptIn(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'CONFIRMATION_PENDING');
    t.ctx.clock.advance(30_000);
    // The confirmation goes as a template outside the window: the tap comes back as a quick reply.
    await t.deliver(
      inboundButton({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        payload: confirmReplyId(optIn.event.id),
        text: 'Confirm',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'allow');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const evs = await events(t.ctx.database.db, b.business.id, person.id);
    assert.deepEqual(
      evs.map((e) => e.type),
      ['opt_in', 'confirmed'],
    );
    assert.deepEqual(
      [evs[1]!.action, evs[1]!.topic_keys, evs[1]!.text_hash],
      ['tapped_button', '["delivery"]', b.text.hash],
    );

    // Someone else's confirm id does nothing for this person.
    const other = newNumber();
    await t.deliver(
      inboundButton({
        phoneNumberId: b.phoneNumberId,
        from: other.digits,
        payload: confirmReplyId(optIn.event.id),
        text: 'Confirm',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.ok((await inboxRows(t.ctx.database.db, b.business.id)).some((r) => r.outcome === 'confirm_not_found'));

    t.ctx.clock.advance(1000);
    await t.deliver(
      inboundButton({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        payload: notMeReplyId(optIn.event.id),
        text: 'Not me',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(await gate(b.business.id, { phone: n.e164 }, 'delivery'), 'OPTED_OUT');
    const last = (await events(t.ctx.database.db, b.business.id, person.id)).at(-1)!;
    const evidence = JSON.parse(
      (
        await t.ctx.database.db
          .selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', last.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.deepEqual([last.scope, last.action, evidence.notes], ['all', 'tapped_button', 'not me']);
  });

  it('a username-only (BSUID) sender is a person without a phone; their STOP works and is acknowledged', async () => {
    const b = await t.business();
    const bsuid = `GB.${Math.random().toString(36).slice(2, 14)}`;
    await t.deliver(
      inboundText({ phoneNumberId: b.phoneNumberId, userId: bsuid, text: 'hello', timestampMs: t.ctx.clock.now() }),
    );
    const person = (await personBy(t.ctx.database.db, b.business.id, 'bsuid', bsuid))!;
    assert.equal(person.phone_e164, null);
    assert.ok(person.last_inbound_at !== null);
    await t.deliver(
      inboundText({ phoneNumberId: b.phoneNumberId, userId: bsuid, text: 'STOP', timestampMs: t.ctx.clock.now() }),
    );
    assert.equal(await gate(b.business.id, { bsuid }, 'delivery'), 'OPTED_OUT');
    assert.equal((await replies(t.ctx.database.db, b.business.id, person.id)).length, 1);
    // Later the same person writes with a number too: the BSUID person learns it, no second person appears.
    const n = newNumber();
    await t.deliver(
      inboundText({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        userId: bsuid,
        text: 'hi again',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    const again = (await personBy(t.ctx.database.db, b.business.id, 'bsuid', bsuid))!;
    assert.equal(again.id, person.id);
    assert.equal(again.phone_e164, n.e164);
  });
});
