import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildCaptureApp, seedCaptureBusiness, type CaptureApp } from '../../helpers/capture.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../../../src/channels/twilio/fake-twilio-api.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { ACCOUNT_SID, AUTH_TOKEN, configureTwilioChannel, twilioNumber } from './helpers.js';

forEachDialect('Twilio 21610 (the number replied STOP to Twilio) becomes a ledger opt-out', (db) => {
  let t: CaptureApp;
  let fake: FakeTwilioApi;
  before(async () => {
    fake = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    t = await buildCaptureApp(db(), { twilioApiUrl: fake.url });
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  it("an invitation refused with 21610 records an SMS opt-out with Twilio's evidence, and the gate refuses the number afterwards", async () => {
    const seed = await seedCaptureBusiness(t.ctx);
    await configureTwilioChannel(t.app, seed.apiKey);
    const phone = '+14155552690';
    fake.block(phone);
    const invite = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/sms/invitations',
        headers: { authorization: `Bearer ${seed.apiKey}` },
        payload: { person: { phone }, topics: ['delivery'], textHash: seed.text.hash, mode: 'keyword' },
      });
    const r = await invite();
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().code, 'RECIPIENT_OPTED_OUT');

    const events = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', seed.business.id)
      .execute();
    assert.equal(events.length, 1);
    const ev = events[0]!;
    assert.equal(ev.type, 'opt_out');
    assert.equal(ev.channel, 'sms');
    assert.equal(ev.action, 'provider_report');
    const evidence = JSON.parse(
      (
        await db()
          .db.selectFrom('consent_evidence')
          .select('evidence')
          .where('business_id', '=', seed.business.id)
          .where('event_id', '=', ev.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(evidence.provider, 'twilio');
    assert.equal(evidence.errorCode, 21610);
    assert.equal(evidence.sender, twilioNumber());
    assert.ok(String(evidence.invitationId).startsWith('inv_'));

    const decision = await decideSend(t.ctx, seed.business.id, { person: { phone }, topic: 'delivery' });
    assert.equal(decision.allowed, false);
    assert.deepEqual(
      decision.reasons.map((x) => x.code),
      ['OPTED_OUT'],
    );
    // The next invitation is refused by Optline itself, without asking Twilio, and records nothing more.
    const before = fake.messages.length;
    const again = await invite();
    assert.equal(again.json().code, 'RECIPIENT_OPTED_OUT');
    assert.equal(fake.messages.length, before);
    assert.equal(
      (await db().db.selectFrom('consent_events').select('id').where('business_id', '=', seed.business.id).execute())
        .length,
      1,
    );
  });
});
