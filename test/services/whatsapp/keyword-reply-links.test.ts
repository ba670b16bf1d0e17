// Preference links in keyword replies: with policy.preferenceLink.inKeywordReplies, the chat's automatic replies
// to the kinds listed (STOP, START, HELP and their equivalents) end with the person's preference link, in the
// reply's language, and the link opens their preference page; kinds not listed carry none. Both dialects.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { newNumber, personBy, replies } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import { inboundText } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';

const BASE = 'https://consent.example';

forEachDialect('keyword replies carry the preference link where configured', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  it('HELP and STOP replies end with the link; START, not listed, has none; the link opens the page', async () => {
    const b = await t.business({
      name: 'Link Shop',
      policy: { preferenceLink: { baseUrl: BASE, inConfirmation: false, inKeywordReplies: ['help', 'opt_out'] } },
    });
    const n = newNumber();
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 'test',
    });
    for (const word of ['HELP', 'BAJA', 'START']) {
      t.ctx.clock.advance(2000);
      assert.equal(
        (
          await t.deliver(
            inboundText({ phoneNumberId: b.phoneNumberId, from: n.digits, text: word, timestampMs: t.ctx.clock.now() }),
          )
        ).statusCode,
        200,
      );
    }
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const sent = await replies(t.ctx.database.db, b.business.id, person.id);
    const byPurpose = (p: string) => sent.find((r) => r.payload.purpose === p)?.payload.text as string;
    const help = byPurpose('help');
    const stop = byPurpose('optout_ack');
    assert.match(help, /Choose your messages or stop them here: https:\/\/consent\.example\/p\/prefs\/\S+$/, help);
    assert.match(
      stop,
      /Elige tus mensajes o detenlos aquí: https:\/\/consent\.example\/p\/prefs\/\S+$/,
      'BAJA is answered in Spanish',
    );
    const start = sent.filter((r) => r.payload.purpose === 'optin_ack').map((r) => r.payload.text as string);
    for (const s of start) assert.doesNotMatch(s, /prefs/);

    const path = /https:\/\/consent\.example(\/p\/prefs\/\S+)$/.exec(help)![1]!;
    const page = await t.app.inject({ method: 'GET', url: path });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Link Shop/);
  });
});
