import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildCaptureApp, seedCaptureBusiness, type CaptureApp } from '../helpers/capture.js';
import { call, configureTwilioChannel, twilioPost } from './capture/helpers.js';
import { chooseOptInText } from '../../src/services/consent/choose-optin-text.js';

const N = 8;

forEachDialect('Opt-in texts: channels and concurrent registration', (db) => {
  let t: CaptureApp;
  before(async () => {
    t = await buildCaptureApp(db());
  });
  after(async () => {
    await t.close();
  });

  const page = (slug: string) =>
    t.app.inject({ method: 'GET', url: `/p/${slug}/opt-in`, headers: { 'accept-language': 'en' } });

  it('observation 7: after the first call to the phone menu, the hosted opt-in page still shows the written text, never the IVR prompt', async () => {
    const s = await seedCaptureBusiness(t.ctx, { name: 'Obs Seven' });
    await configureTwilioChannel(t.app, s.apiKey);
    t.ctx.clock.advance(60_000); // the phone menu's text is the newest text of the business
    const voice = await twilioPost(t.app, '/webhooks/twilio/voice', call('+14155553701'));
    assert.equal(voice.statusCode, 200, voice.body);
    assert.match(voice.body, /Press 1 to opt in/);

    const res = await page(s.business.slug);
    assert.equal(res.statusCode, 200, res.body);
    assert.doesNotMatch(res.body, /Press 1|Press 9/, 'no phone script on the page');
    assert.ok(res.body.includes('Reply STOP at any time to opt out.'), "the business's written text is shown");

    const texts = await t.app.inject({
      method: 'GET',
      url: '/v1/texts',
      headers: { authorization: `Bearer ${s.apiKey}` },
    });
    const byName = new Map(
      (texts.json().data as { name: string; channels: string[] }[]).map((x) => [x.name, x.channels]),
    );
    assert.deepEqual(byName.get('ivr-prompt-en'), ['ivr'], 'the menu text is for the phone only');
    assert.deepEqual(
      byName.get('default'),
      ['web', 'app', 'whatsapp', 'sms', 'email'],
      'a text registered without channels is for the written channels',
    );
  });

  it('a text registered for some channels is chosen only on those; the same words for another channel are another text', async () => {
    const s = await seedCaptureBusiness(t.ctx, { name: 'Chan Shop' });
    const auth = { authorization: `Bearer ${s.apiKey}` };
    const body = 'Yes, send me delivery updates from Chan Shop on WhatsApp. Reply STOP at any time to opt out.';
    t.ctx.clock.advance(60_000);
    const sms = await t.app.inject({
      method: 'POST',
      url: '/v1/texts',
      headers: auth,
      payload: { name: 'sms-only', language: 'en', body, topicKeys: ['delivery'], channels: ['sms'] },
    });
    assert.equal(sms.statusCode, 201, sms.body);
    assert.deepEqual(sms.json().channels, ['sms']);
    const web = await t.app.inject({
      method: 'POST',
      url: '/v1/texts',
      headers: auth,
      payload: { name: 'web-only', language: 'en', body, topicKeys: ['delivery'], channels: ['web'] },
    });
    assert.equal(web.statusCode, 201);
    assert.notEqual(web.json().hash, sms.json().hash);
    assert.equal(
      (await chooseOptInText(db().db, s.business.id, { language: 'en', topics: ['delivery'], channel: 'sms' }))?.hash,
      sms.json().hash,
    );
    assert.equal(
      (await chooseOptInText(db().db, s.business.id, { language: 'en', topics: ['delivery'], channel: 'web' }))?.hash,
      web.json().hash,
    );
    assert.equal(
      await chooseOptInText(db().db, s.business.id, { language: 'en', topics: ['delivery'], channel: 'ivr' }),
      null,
    );

    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/texts',
      headers: auth,
      payload: { name: 'x', language: 'en', body, topicKeys: ['delivery'], channels: ['fax'] },
    });
    assert.equal(bad.statusCode, 400, bad.body);
  });

  it(`${N} identical POST /v1/texts at once: one text, every answer 201 with it (as sequential replays), no 5xx`, async () => {
    const s = await seedCaptureBusiness(t.ctx, { name: 'Race Texts' });
    const payload = {
      name: 'promo',
      language: 'en',
      body: 'Yes, send me billing alerts from Race Texts on WhatsApp. Reply STOP at any time to opt out.',
      topicKeys: ['billing'],
    };
    const rs = await Promise.all(
      Array.from({ length: N }, () =>
        t.app.inject({ method: 'POST', url: '/v1/texts', headers: { authorization: `Bearer ${s.apiKey}` }, payload }),
      ),
    );
    for (const r of rs) assert.equal(r.statusCode, 201, r.body);
    assert.equal(new Set(rs.map((r) => r.json().hash)).size, 1);
    const rows = await db()
      .db.selectFrom('consent_texts')
      .select('hash')
      .where('business_id', '=', s.business.id)
      .where('name', '=', 'promo')
      .execute();
    assert.equal(rows.length, 1);
  });

  it(`${N} different texts under one name at once: versions 1..${N}, no 5xx`, async () => {
    const s = await seedCaptureBusiness(t.ctx, { name: 'Race Versions' });
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/texts',
          headers: { authorization: `Bearer ${s.apiKey}` },
          payload: {
            name: 'v',
            language: 'en',
            body: `Yes (${i}), send me billing alerts from Race Versions on WhatsApp. Reply STOP at any time to opt out.`,
            topicKeys: ['billing'],
          },
        }),
      ),
    );
    for (const r of rs) assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(
      rs.map((r) => r.json().version as number).sort((a, b) => a - b),
      Array.from({ length: N }, (_, i) => i + 1),
    );
  });
});
