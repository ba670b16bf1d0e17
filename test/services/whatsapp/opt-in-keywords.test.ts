import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, newNumber, personBy, replies } from '../../helpers/whatsapp-people.js';
import { inboundText } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { registerText } from '../../../src/services/admin/manage-texts.js';
import { updateBusiness } from '../../../src/services/admin/manage-businesses.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { AppError } from '../../../src/domain/errors.js';
import type { BusinessPolicy } from '../../../src/domain/gate/policy.js';

forEachDialect('WhatsApp opt-in keywords (JOIN)', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const say = (phoneNumberId: string, from: string, body: string) =>
    inboundText({ phoneNumberId, from, text: body, timestampMs: t.ctx.clock.now() });
  const gate = async (businessId: string, phone: string, topic: string) => {
    const d = await decideSend(t.ctx, businessId, { person: { phone }, topic });
    return d.reasons.map((r) => r.code).join(',') || d.outcome;
  };
  const setKeywords = (businessId: string, keywords: Record<string, unknown>) =>
    updateBusiness(t.ctx, businessId, { policy: { keywords } as Partial<BusinessPolicy> });

  /** A business publishing "send JOIN to get delivery updates": a WhatsApp text covering delivery only. */
  async function joinBusiness() {
    const b = await t.business({ name: 'Parcel Co' });
    const text = await registerText(t.ctx, b.business.id, {
      name: 'join',
      language: 'en',
      channels: ['whatsapp', 'sms'],
      body: 'Send JOIN to get delivery updates from Parcel Co on WhatsApp. Reply STOP at any time to opt out.',
      topicKeys: ['delivery'],
    });
    await setKeywords(b.business.id, {
      optInKeywords: [
        { keyword: 'JOIN', language: 'en', textHash: text.hash, topics: ['delivery'] },
        { keyword: 'QUIERO AVISOS', language: 'es', textHash: text.hash, topics: ['delivery'] },
      ],
    });
    return { ...b, joinText: text };
  }

  it('JOIN records an active opt-in to its topics, with the bound text, the message as evidence and its rule; the confirmation is queued', async () => {
    const b = await joinBusiness();
    const n = newNumber();
    assert.equal((await t.deliver(say(b.phoneNumberId, n.digits, 'Join!'))).statusCode, 200);
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'allow');
    assert.equal(await gate(b.business.id, n.e164, 'billing'), 'NO_CONSENT', 'only the topics the keyword is bound to');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const [ev, ...rest] = await events(t.ctx.database.db, b.business.id, person.id);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      [ev!.type, ev!.scope, ev!.channel, ev!.action, ev!.text_hash],
      ['opt_in', 'topics', 'whatsapp', 'sent_keyword', b.joinText.hash],
    );
    const evidence = JSON.parse(
      (
        await t.ctx.database.db
          .selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', ev!.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.ok(String(evidence.messageId).startsWith('wamid.'));
    assert.equal(ev!.source_ref, `wa:msg:${evidence.messageId}`);
    assert.equal(evidence.waId, n.digits);
    assert.deepEqual(
      [evidence.keyword, evidence.language, evidence.rule, evidence.text],
      ['JOIN', 'en', 'opt_in_keyword', 'Join!'],
    );
    const confirmations = await t.ctx.database.db
      .selectFrom('messages')
      .selectAll()
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', person.id)
      .where('kind', '=', 'confirmation')
      .execute();
    assert.equal(confirmations.length, 1);
    assert.equal(confirmations[0]!.related_event_id, ev!.id);
    assert.deepEqual(JSON.parse(confirmations[0]!.payload).topicKeys, ['delivery']);

    // Meta redelivers it: nothing more.
    const person2 = newNumber();
    const env = say(b.phoneNumberId, person2.digits, 'quiero avisos');
    await t.deliver(env);
    await t.deliver(env);
    const p2 = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', person2.e164))!;
    assert.equal((await events(t.ctx.database.db, b.business.id, p2.id)).length, 1);
    const conf = await t.ctx.database.db
      .selectFrom('messages')
      .select('payload')
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', p2.id)
      .where('kind', '=', 'confirmation')
      .execute();
    assert.equal(conf.length, 1);
    assert.equal(
      JSON.parse(conf[0]!.payload).language,
      'es',
      'the keyword carries its own language into the confirmation',
    );
  });

  it('JOIN inside a sentence is a review item only; STOP after JOIN still opts out of everything', async () => {
    const b = await joinBusiness();
    const n = newNumber();
    await t.deliver(say(b.phoneNumberId, n.digits, 'how do I join the list?'));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'NO_CONSENT');
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.equal(
      (await replies(t.ctx.database.db, b.business.id, person.id)).length,
      0,
      'an opt-in mention gets no STOP hint',
    );
    const items = await t.ctx.database.db
      .selectFrom('review_items')
      .select(['reason', 'detail'])
      .where('business_id', '=', b.business.id)
      .execute();
    assert.deepEqual(
      items.map((i) => [i.reason, JSON.parse(i.detail).rule]),
      [['keyword_mention', 'keyword_in_sentence']],
    );
    await t.deliver(say(b.phoneNumberId, n.digits, 'JOIN'));
    t.ctx.clock.advance(2000);
    await t.deliver(say(b.phoneNumberId, n.digits, 'STOP'));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'OPTED_OUT');
  });

  it('refuses at configuration an opt-in keyword that opts out anywhere, is START or HELP, or whose text cannot be used, naming the field', async () => {
    const b = await joinBusiness();
    const webOnly = await registerText(t.ctx, b.business.id, {
      name: 'web',
      language: 'en',
      channels: ['web'],
      topicKeys: ['delivery'],
      body: 'Yes, send me delivery updates from Parcel Co on WhatsApp. Reply STOP at any time to opt out.',
    });
    const ok = { language: 'en', textHash: b.joinText.hash, topics: ['delivery'] };
    const cases: [string, Record<string, unknown>, string][] = [
      ['a pack opt-out word', { ...ok, keyword: 'stop' }, 'optInKeywords[0].keyword'],
      ['an opt-out word of a pack not in use', { ...ok, keyword: 'BAJA' }, 'optInKeywords[0].keyword'],
      ['an opt-out word spaced out', { ...ok, keyword: 'UN SUBSCRIBE' }, 'optInKeywords[0].keyword'],
      ['an intent phrase', { ...ok, keyword: 'leave me alone' }, 'optInKeywords[0].keyword'],
      ['START', { ...ok, keyword: 'Start' }, 'optInKeywords[0].keyword'],
      ['HELP', { ...ok, keyword: 'HELP' }, 'optInKeywords[0].keyword'],
      ['an unknown text', { ...ok, keyword: 'JOIN', textHash: 'sha256:nope' }, 'optInKeywords[0].textHash'],
      ['a text not for WhatsApp', { ...ok, keyword: 'JOIN', textHash: webOnly.hash }, 'optInKeywords[0].textHash'],
      [
        'a topic the text does not cover',
        { ...ok, keyword: 'JOIN', topics: ['delivery', 'billing'] },
        'optInKeywords[0].topics',
      ],
    ];
    for (const [name, entry, field] of cases) {
      await assert.rejects(setKeywords(b.business.id, { languages: ['en'], optInKeywords: [entry] }), (e: unknown) => {
        assert.ok(e instanceof AppError, name);
        assert.equal(e.code, 'INVALID_POLICY', name);
        assert.deepEqual(
          e.problems.map((p) => p.field),
          [`policy.keywords.${field}`],
          name,
        );
        return true;
      });
    }
    // Nothing changed: JOIN still works.
    const n = newNumber();
    await t.deliver(say(b.phoneNumberId, n.digits, 'JOIN'));
    assert.equal(await gate(b.business.id, n.e164, 'delivery'), 'allow');
  });

  it('the API refuses a colliding opt-in keyword with a 400 naming the field', async () => {
    const b = await joinBusiness();
    const r = await t.app.inject({
      method: 'PATCH',
      url: '/v1/business',
      headers: { authorization: `Bearer ${b.apiKey}` },
      payload: {
        policy: {
          keywords: {
            optInKeywords: [{ keyword: 'CANCEL', language: 'en', textHash: b.joinText.hash, topics: ['delivery'] }],
          },
        },
      },
    });
    assert.equal(r.statusCode, 400, r.body);
    const body = r.json();
    assert.equal(body.code, 'INVALID_POLICY');
    assert.deepEqual(
      body.errors.map((e: { field: string }) => e.field),
      ['policy.keywords.optInKeywords[0].keyword'],
    );
    assert.match(body.errors[0].message, /opt-out word/);
  });
});
