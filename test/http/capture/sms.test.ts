import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { forEachDialect } from '../../helpers/db.js';
import {
  buildCaptureApp,
  countRows,
  form,
  formState,
  PUBLIC_URL,
  seedCaptureBusiness,
  type CaptureApp,
} from '../../helpers/capture.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../../../src/channels/twilio/fake-twilio-api.js';
import { computeTwilioSignature } from '../../../src/channels/twilio/signature.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { webEvidence } from '../../helpers/seed.js';
import { ACCOUNT_SID, AUTH_TOKEN, configureTwilioChannel, sms, twilioNumber, twilioPost } from './helpers.js';

forEachDialect('SMS invitations and replies (Twilio)', (db) => {
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

  // Each test gets its own business; a Twilio number belongs to one business, so the last configured wins.
  async function business(opts: { ownershipCheck?: boolean } = {}) {
    const seed = await seedCaptureBusiness(t.ctx, opts);
    await configureTwilioChannel(t.app, seed.apiKey);
    return seed;
  }
  const invite = (key: string, body: object) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/sms/invitations',
      headers: { authorization: `Bearer ${key}` },
      payload: body,
    });

  it('keyword invitation: the SMS states the program and YES WA; the reply records the opt-in with its MessageSid', async () => {
    const { business: b, apiKey, text } = await business();
    const r = await invite(apiKey, {
      person: { phone: '+14155552671' },
      topics: ['delivery'],
      textHash: text.hash,
      mode: 'keyword',
    });
    assert.equal(r.statusCode, 201, r.body);
    const sent = fake.messages.at(-1)!;
    assert.equal(sent.to, '+14155552671');
    assert.equal(sent.from, twilioNumber());
    assert.ok(sent.body.startsWith(text.body), 'the registered text, word for word');
    assert.match(sent.body, /Reply YES WA to agree\.$/);
    assert.equal(r.json().messageSid, sent.sid);

    const reply = sms('+14155552671', 'yes wa!');
    const res = await twilioPost(t.app, '/webhooks/twilio/sms', reply);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /text\/xml/);
    assert.match(res.body, /<Message>Thanks! .* will send you delivery updates on WhatsApp\./);
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', b.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      [e.type, e.channel, e.action, e.topic_keys, e.text_hash],
      ['opt_in', 'sms', 'sent_keyword', '["delivery"]', text.hash],
    );
    const ev = JSON.parse(
      (
        await db()
          .db.selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', e.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(ev.messageId, reply.MessageSid);
    assert.equal(ev.invitationSid, sent.sid);
    const msgs = await db()
      .db.selectFrom('messages')
      .select(['kind', 'status'])
      .where('business_id', '=', b.id)
      .execute();
    assert.deepEqual(msgs, [{ kind: 'confirmation', status: 'queued' }]);

    // Twilio retries: the same MessageSid again records nothing new.
    await twilioPost(t.app, '/webhooks/twilio/sms', reply);
    assert.equal(await countRows(db(), 'consent_events', b.id), 1);
  });

  it('YES WA with no invitation records nothing', async () => {
    const { business: b } = await business();
    const res = await twilioPost(t.app, '/webhooks/twilio/sms', sms('+14155550000', 'YES WA'));
    assert.match(res.body, /no open invitation/);
    assert.equal(await countRows(db(), 'consent_events', b.id), 0);
  });

  for (const word of ['STOP', 'stop', 'Stop.', ' UNSUBSCRIBE ', 'Baja']) {
    it(`"${word}" by SMS opts out of every WhatsApp topic and cancels what was queued`, async () => {
      const { business: b, text } = await business();
      const phone = '+14155552672';
      await recordOptIn(t.ctx, b.id, {
        person: { phone },
        topics: ['delivery', 'billing'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.hash,
        evidence: webEvidence,
        actor: 't',
      });
      t.ctx.clock.advance(1000);
      const res = await twilioPost(t.app, '/webhooks/twilio/sms', sms(phone, word));
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /<Message>You will no longer receive WhatsApp messages from/);
      const out = await db()
        .db.selectFrom('consent_events')
        .selectAll()
        .where('business_id', '=', b.id)
        .where('type', '=', 'opt_out')
        .executeTakeFirstOrThrow();
      assert.deepEqual([out.scope, out.channel, out.action], ['all', 'sms', 'sent_keyword']);
      const queued = await db().db.selectFrom('messages').select('status').where('business_id', '=', b.id).execute();
      assert.deepEqual(
        queued.map((m) => m.status),
        ['cancelled'],
      );
      for (const topic of ['delivery', 'billing']) {
        assert.deepEqual(
          (await decideSend(t.ctx, b.id, { person: { phone }, topic })).reasons.map((x) => x.code),
          ['OPTED_OUT'],
        );
      }
    });
  }

  it('Twilio Advanced Opt-Out (OptOutType=STOP) counts even for a custom word', async () => {
    const { business: b } = await business();
    await twilioPost(t.app, '/webhooks/twilio/sms', sms('+14155552673', 'ENOUGH', { OptOutType: 'STOP' }));
    const e = await db()
      .db.selectFrom('consent_events')
      .select(['type', 'scope'])
      .where('business_id', '=', b.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(e, { type: 'opt_out', scope: 'all' });
  });

  it('a sentence mentioning stop is not acted on, but the reply names the way out; START infers nothing', async () => {
    const { business: b } = await business();
    const m = await twilioPost(t.app, '/webhooks/twilio/sms', sms('+14155552674', 'please stop texting me'));
    assert.match(m.body, /To stop WhatsApp messages from .*, reply STOP\./);
    const s = await twilioPost(t.app, '/webhooks/twilio/sms', sms('+14155552674', 'START'));
    assert.equal(s.body, '<?xml version="1.0" encoding="UTF-8"?><Response/>');
    assert.equal(await countRows(db(), 'consent_events', b.id), 0);
  });

  it('accepts only signatures computed as Twilio computes them, for the public URL', async () => {
    const { business: b } = await business();
    const params = sms('+14155552675', 'STOP');
    // Twilio's own validator agrees with the signature the helper sends.
    const sig = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/webhooks/twilio/sms`, params);
    assert.equal(twilio.validateRequest(AUTH_TOKEN, sig, `${PUBLIC_URL}/webhooks/twilio/sms`, params), true);
    const refused = [
      await twilioPost(t.app, '/webhooks/twilio/sms', params, {
        signedUrl: 'http://10.0.0.5:8080/webhooks/twilio/sms',
      }),
      await twilioPost(t.app, '/webhooks/twilio/sms', params, { token: 'another-accounts-auth-token-0000' }),
      await twilioPost(t.app, '/webhooks/twilio/sms', params, { signature: '' }),
      await twilioPost(t.app, '/webhooks/twilio/sms', { ...params, To: '+14155550111' }),
      await twilioPost(t.app, '/webhooks/twilio/sms', params, {
        signature: twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/webhooks/twilio/sms`, {
          ...params,
          Body: 'hi',
        }),
      }),
    ];
    for (const r of refused) {
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().code, 'WEBHOOK_SIGNATURE_INVALID');
    }
    assert.equal(await countRows(db(), 'consent_events', b.id), 0, 'nothing recorded from an unsigned request');
    const ok = await twilioPost(t.app, '/webhooks/twilio/sms', params);
    assert.equal(ok.statusCode, 200);
    assert.equal(await countRows(db(), 'consent_events', b.id), 1);
  });

  it('accepts the Webhook Rules variant (HMAC-SHA256 under a shared key) when configured', async () => {
    const seed = await seedCaptureBusiness(t.ctx);
    await configureTwilioChannel(t.app, seed.apiKey, { webhookSharedKeys: { KS1: 'rule-shared-key-000001' } });
    const params = sms('+14155552676', 'STOP');
    const url = `${PUBLIC_URL}/webhooks/twilio/sms`;
    const sha256 = computeTwilioSignature('rule-shared-key-000001', url, params, 'sha256');
    const ok = await twilioPost(t.app, '/webhooks/twilio/sms', params, {
      signature: sha256,
      headers: { 'x-twilio-webhooks-signature-settings': 'key=KS1,algorithm=HMAC_SHA256' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    const wrongKey = await twilioPost(t.app, '/webhooks/twilio/sms', params, {
      signature: sha256,
      headers: { 'x-twilio-webhooks-signature-settings': 'key=KS2,algorithm=HMAC_SHA256' },
    });
    assert.equal(wrongKey.statusCode, 401);
  });

  it('link invitation: the signed link opens the page pre-filled; the same number needs no further check', async () => {
    const { business: b, apiKey, text } = await business();
    const r = await invite(apiKey, {
      person: { phone: '+14155552677' },
      topics: ['delivery', 'billing'],
      textHash: text.hash,
      mode: 'link',
    });
    assert.equal(r.statusCode, 201, r.body);
    const link = /(https:\/\/optline\.example\/p\/[^\s]+)/.exec(fake.messages.at(-1)!.body)![1]!;
    const page = await t.app.inject({ method: 'GET', url: link.slice(PUBLIC_URL.length) });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /value="\+14155552677"/);
    const st = formState(page);
    const inv = new URL(link).searchParams.get('inv')!;
    const post = await t.app.inject({
      method: 'POST',
      url: `/p/${b.slug}/opt-in?lang=en`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL, cookie: st.cookie },
      payload: form({ formToken: st.formToken, inv, topics: ['delivery'], phone: '+14155552677', country: 'US' }),
    });
    assert.equal(post.statusCode, 200);
    assert.match(post.body, /You are subscribed/);
    const ev = JSON.parse(
      (
        await db()
          .db.selectFrom('consent_evidence')
          .select('evidence')
          .where('business_id', '=', b.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(ev.ownershipCheck, 'sms_link');
    assert.equal(ev.invitationChannel, 'sms');
    const again = await t.app.inject({ method: 'GET', url: link.slice(PUBLIC_URL.length) });
    assert.equal(again.statusCode, 410, 'the link works once');
  });

  it('refuses invitations without a Twilio account, to a person who opted out, or when Twilio refuses', async () => {
    const seed = await seedCaptureBusiness(t.ctx);
    const none = await invite(seed.apiKey, {
      person: { phone: '+14155552678' },
      topics: ['delivery'],
      textHash: seed.text.hash,
      mode: 'keyword',
    });
    assert.equal(none.json().code, 'CHANNEL_NOT_CONFIGURED');
    await configureTwilioChannel(t.app, seed.apiKey);
    await twilioPost(t.app, '/webhooks/twilio/sms', sms('+14155552678', 'STOP'));
    const optedOut = await invite(seed.apiKey, {
      person: { phone: '+14155552678' },
      topics: ['delivery'],
      textHash: seed.text.hash,
      mode: 'keyword',
    });
    assert.equal(optedOut.statusCode, 409);
    assert.equal(optedOut.json().code, 'RECIPIENT_OPTED_OUT');
    fake.failNext('+14155552679', 503, 0);
    const down = await invite(seed.apiKey, {
      person: { phone: '+14155552679' },
      topics: ['delivery'],
      textHash: seed.text.hash,
      mode: 'keyword',
    });
    assert.equal(down.statusCode, 502);
    assert.equal(down.json().code, 'CHANNEL_SEND_FAILED');
    assert.equal(down.json().retryable, true);
    const res = await twilioPost(t.app, '/webhooks/twilio/sms', sms('+14155552679', 'YES WA'));
    assert.match(res.body, /no open invitation/, 'an invitation that was never sent cannot be answered');
  });
});
