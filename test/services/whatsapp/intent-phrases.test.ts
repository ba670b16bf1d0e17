import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, newNumber, personBy, replies } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import { inboundText, type MetaEnvelope } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { parseWebhook } from '../../../src/channels/whatsapp-cloud/payload.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { storeWhatsAppWebhook } from '../../../src/services/whatsapp/store-webhook.js';
import { DEFAULT_KEYWORD_REPLIES } from '../../../src/domain/chat/keyword-replies.js';

// One whole-message phrase per pack, none of them a keyword.
const PHRASES: [string, string][] = [
  ['en', 'Leave me alone!'],
  ['es', 'para de mandar'],
  ['pt', 'me deixa em paz'],
  ['fr', 'Laissez-moi tranquille.'],
  ['de', 'Lass mich in Ruhe'],
  ['it', 'non scrivetemi più'],
  ['id', 'jangan kirim pesan lagi'],
  ['hi', 'मैसेज मत भेजो'],
];

function itemsOf(env: MetaEnvelope) {
  const r = parseWebhook(JSON.parse(JSON.stringify(env)));
  assert.ok(r.ok);
  return r.items;
}

forEachDialect('WhatsApp intent beyond keywords', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });
  const routes = new Map<string, string>();
  // The webhook's storing transaction as the route runs it: `fresh` is what is left for the processor after the 200.
  const store = (env: MetaEnvelope) => storeWhatsAppWebhook(t.ctx, itemsOf(env), routes);
  const business = async (o?: Parameters<WaTestApp['business']>[0]) => {
    const b = await t.business(o);
    routes.set(b.phoneNumberId, b.business.id);
    return b;
  };
  const say = (phoneNumberId: string, from: string, body: string) =>
    inboundText({ phoneNumberId, from, text: body, timestampMs: t.ctx.clock.now() });
  const optedIn = async (b: Awaited<ReturnType<typeof business>>) => {
    const n = newNumber();
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    return n;
  };
  const evidenceOf = async (eventId: string) =>
    JSON.parse(
      (
        await t.ctx.database.db
          .selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', eventId)
          .executeTakeFirstOrThrow()
      ).evidence,
    );

  it('a whole-message intent phrase in each pack is an opt-out committed at the 200, with its rule in the evidence and the answer in its language', async () => {
    const b = await business({ name: 'Corner Shop' });
    for (const [lang, phrase] of PHRASES) {
      const n = await optedIn(b);
      t.ctx.clock.advance(1000);
      const r = await store(say(b.phoneNumberId, n.digits, phrase));
      assert.equal(r.fresh.length, 0, `${phrase}: handled in the acknowledging transaction`);
      const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
      const out = (await events(t.ctx.database.db, b.business.id, person.id)).filter((e) => e.type === 'opt_out');
      assert.deepEqual(
        out.map((e) => [e.scope, e.channel, e.action]),
        [['all', 'whatsapp', 'sent_keyword']],
        phrase,
      );
      const ev = await evidenceOf(out[0]!.id);
      assert.deepEqual([ev.rule, ev.language, ev.text], [`intent_phrase:${lang}`, lang, phrase], phrase);
      assert.ok(String(ev.messageId).startsWith('wamid.'));
      const acks = await replies(t.ctx.database.db, b.business.id, person.id);
      assert.deepEqual(
        acks.map((a) => a.payload.text),
        [DEFAULT_KEYWORD_REPLIES[lang]!.opt_out.replace('{business}', 'Corner Shop')],
        phrase,
      );
    }
  });

  it('a phrase inside a sentence decides nothing: a review item with its rule and a reply naming STOP; a disabled phrase is plain text', async () => {
    const b = await business({
      policy: {
        keywords: { intent: { disabled: ['remove me'], phrases: { en: ['enough with the texts'] } } },
      } as never,
    });
    const n = await optedIn(b);
    const r = await store(say(b.phoneNumberId, n.digits, 'please leave me alone about the refund'));
    assert.equal(r.fresh.length, 1, 'left to the processor: not an opt-out');
    await t.processor.drain();
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.deepEqual(
      (await events(t.ctx.database.db, b.business.id, person.id)).map((e) => e.type),
      ['opt_in'],
    );
    const items = await t.ctx.database.db
      .selectFrom('review_items')
      .select(['reason', 'detail'])
      .where('business_id', '=', b.business.id)
      .execute();
    assert.deepEqual(
      items.map((i) => [i.reason, JSON.parse(i.detail).keyword, JSON.parse(i.detail).rule]),
      [['keyword_mention', 'leave me alone', 'keyword_in_sentence']],
    );
    const hint = await replies(t.ctx.database.db, b.business.id, person.id);
    assert.equal(hint.length, 1);
    assert.match(hint[0]!.payload.text, /Reply STOP to stop all messages/);

    const disabled = await store(say(b.phoneNumberId, n.digits, 'remove me'));
    assert.equal(disabled.fresh.length, 1, 'a phrase the business switched off is not an opt-out');
    const own = await optedIn(b);
    assert.equal(
      (await store(say(b.phoneNumberId, own.digits, 'Enough with the texts!'))).fresh.length,
      0,
      "the business's own phrase opts out at the 200",
    );
  });

  it('per country: a Brazilian number gets the Portuguese pack first and its answer in Portuguese; custom keywords carry their own language', async () => {
    const b = await business({
      name: 'Loja',
      policy: {
        keywords: {
          languages: ['en'],
          countries: { BR: { languages: ['pt'] } },
          extra: { optOut: [{ keyword: 'CHAU', language: 'es' }] },
        },
      } as never,
    });
    const br = { e164: `+55119${String(70000000 + Math.floor(Math.random() * 9_999_999))}` };
    const brDigits = br.e164.slice(1);
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: br.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    assert.equal(
      (await store(say(b.phoneNumberId, brDigits, 'PARE'))).fresh.length,
      0,
      'PARE opts out a Brazilian number at the 200',
    );
    const p = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', br.e164))!;
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, p.id)).map((a) => a.payload.language),
      ['pt'],
    );

    const uk = await optedIn(b);
    assert.equal(
      (await store(say(b.phoneNumberId, uk.digits, 'PARE'))).fresh.length,
      1,
      'not for a UK number: the business chose English',
    );
    const es = await optedIn(b);
    assert.equal((await store(say(b.phoneNumberId, es.digits, 'chau'))).fresh.length, 0);
    const pe = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', es.e164))!;
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, pe.id)).map((a) => a.payload.language),
      ['es'],
    );
    await t.processor.drain();
  });
});
