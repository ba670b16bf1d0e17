import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildCaptureApp, countRows, PUBLIC_URL, seedCaptureBusiness, type CaptureApp } from '../../helpers/capture.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { getText } from '../../../src/services/admin/manage-texts.js';
import { call, configureTwilioChannel, twilioPost } from './helpers.js';

/** The action URL of the first <Gather>, as Twilio would request it (XML entities undone). */
const gatherAction = (twiml: string, n = 0) =>
  [...twiml.matchAll(/<Gather [^>]*action="([^"]+)"/g)][n]![1]!.replace(/&amp;/g, '&');

forEachDialect('IVR (Twilio voice)', (db) => {
  let t: CaptureApp;
  before(async () => {
    t = await buildCaptureApp(db());
  });
  after(async () => {
    await t.close();
  });

  async function start(caller: string) {
    const seed = await seedCaptureBusiness(t.ctx, { name: 'Bright Energy' });
    await configureTwilioChannel(t.app, seed.apiKey);
    const params = call(caller);
    const res = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /text\/xml/);
    return { ...seed, params, twiml: res.body };
  }
  const choose = (actionUrl: string, params: Record<string, string>, digits?: string) =>
    twilioPost(
      t.app,
      actionUrl.slice(PUBLIC_URL.length),
      digits === undefined ? params : { ...params, Digits: digits },
    );

  it('speaks the business, WhatsApp, the message types and the choices; asks twice on silence, then says goodbye', async () => {
    const { twiml, business } = await start('+14155553001');
    assert.match(
      twiml,
      /<Gather input="dtmf" numDigits="1" timeout="6" action="https:\/\/optline\.example\/webhooks\/twilio\/voice\/choice\?attempt=1&amp;text=[0-9a-f]{64}&amp;lang=en" method="POST">/,
    );
    assert.match(
      twiml,
      /<Say language="en-US">Hello, this is Bright Energy\. Would you like to receive billing alerts and delivery updates from Bright Energy on WhatsApp\? Press 1 to opt in\. Press 9 to opt out of all WhatsApp messages from Bright Energy\.<\/Say>/,
    );
    assert.equal([...twiml.matchAll(/<Gather /g)].length, 2, 'the menu is repeated once when nothing is pressed');
    assert.match(twiml, /attempt=2/);
    assert.match(
      twiml,
      /We did not receive a choice, so nothing was changed\. Goodbye\.<\/Say><Hangup\/><\/Response>$/,
    );
    const hash = /text=([0-9a-f]{64})/.exec(twiml)![1]!;
    const text = await getText(t.ctx, business.id, hash);
    assert.equal(text.usable, true, 'the spoken prompt is a registered, checked opt-in text');
    assert.match(text.body, /^Hello, this is Bright Energy/);
  });

  it('1 records an opt-in with call id, digits and the words spoken, and says so', async () => {
    const { twiml, params, business } = await start('+14155553002');
    const r = await choose(gatherAction(twiml), params, '1');
    assert.equal(r.statusCode, 200, r.body);
    assert.match(
      r.body,
      /<Say language="en-US">Thank you\. You will receive billing alerts and delivery updates from Bright Energy on WhatsApp\./,
    );
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([e.type, e.channel, e.action], ['opt_in', 'ivr', 'pressed_digit']);
    const ev = JSON.parse(
      (
        await db()
          .db.selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', e.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(ev.callId, params.CallSid);
    assert.equal(ev.digits, '1');
    assert.match(ev.spokenText, /Press 1 to opt in/);
    assert.equal(
      (await decideSend(t.ctx, business.id, { person: { phone: '+14155553002' }, topic: 'delivery' })).outcome,
      'allow',
    );
    const msgs = await db().db.selectFrom('messages').select('kind').where('business_id', '=', business.id).execute();
    assert.deepEqual(
      msgs.map((m) => m.kind),
      ['confirmation'],
    );
  });

  it('9 opts out of everything and says so', async () => {
    const { twiml, params, business } = await start('+14155553003');
    const r = await choose(gatherAction(twiml), params, '9');
    assert.match(
      r.body,
      /<Say language="en-US">You will no longer receive WhatsApp messages from Bright Energy\. Goodbye\.<\/Say><Hangup\/>/,
    );
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([e.type, e.scope, e.channel, e.action], ['opt_out', 'all', 'ivr', 'pressed_digit']);
  });

  it('any other digit, or none, re-prompts once then says goodbye, recording nothing', async () => {
    const { twiml, params, business } = await start('+14155553004');
    for (const d of ['5', '0', '*', '#', '11']) {
      const r = await choose(gatherAction(twiml), params, d);
      assert.equal(r.statusCode, 200);
      assert.match(r.body, /Sorry, that is not one of the choices\.<\/Say><Gather /, `digit ${d}: asked again`);
      const second = await choose(gatherAction(r.body), params, d);
      assert.match(second.body, /Goodbye\.<\/Say><Hangup\/><\/Response>$/);
      assert.doesNotMatch(second.body, /<Gather/);
    }
    const empty = await choose(gatherAction(twiml), params);
    assert.match(empty.body, /not one of the choices/);
    const emptyAgain = await choose(gatherAction(twiml, 1), params, '');
    assert.match(emptyAgain.body, /Goodbye/);
    assert.equal(await countRows(db(), 'consent_events', business.id), 0);
  });

  it('refuses unsigned calls and choices', async () => {
    const { twiml, params, business } = await start('+14155553005');
    const r = await twilioPost(t.app, '/webhooks/twilio/voice', params, { token: 'not-the-auth-token-000000000' });
    assert.equal(r.statusCode, 401);
    const action = gatherAction(twiml);
    const forged = await twilioPost(
      t.app,
      action.slice(PUBLIC_URL.length),
      { ...params, Digits: '1' },
      { signedUrl: action.replace('attempt=1', 'attempt=2') },
    );
    assert.equal(forged.statusCode, 401);
    assert.equal(await countRows(db(), 'consent_events', business.id), 0);
  });
});
