// Every capture path off WhatsApp ends in the same ledger: an opt-in queues the WhatsApp confirmation, an
// opt-out cancels what is queued and makes the next decision refuse, and the acknowledgement goes back only
// on the channel the person used (TwiML for SMS, a spoken line for IVR, a page for web and email).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import {
  buildCaptureApp,
  form,
  formState,
  PUBLIC_URL,
  seedCaptureBusiness,
  type CaptureApp,
} from '../../helpers/capture.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../../../src/channels/twilio/fake-twilio-api.js';
import { startSmtpSink, type SmtpSink } from '../../fakes/smtp-sink.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { preferenceLink } from '../../../src/services/consent/preference-links.js';
import { redeemOwnershipCode } from '../../../src/services/capture/redeem-ownership-code.js';
import { findPerson } from '../../../src/storage/consent/people-store.js';
import { ACCOUNT_SID, AUTH_TOKEN, call, configureTwilioChannel, sms, twilioPost } from './helpers.js';

type Seed = Awaited<ReturnType<typeof seedCaptureBusiness>>;
interface Ack {
  channel: string;
  text: string;
}

forEachDialect('every channel converges on one ledger', (db) => {
  let t: CaptureApp;
  let fake: FakeTwilioApi;
  let sink: SmtpSink;
  before(async () => {
    fake = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    sink = await startSmtpSink();
    t = await buildCaptureApp(db(), {
      twilioApiUrl: fake.url,
      smtp: { url: sink.url, from: 'Optline <no-reply@optline.example>' },
    });
  });
  after(async () => {
    await t.close();
    await fake.close();
    await sink.close();
  });

  const api = (key: string, method: 'POST' | 'PUT', url: string, payload: object) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload });
  const postForm = (
    url: string,
    page: Awaited<ReturnType<typeof t.app.inject>>,
    fields: Record<string, string | string[]>,
  ) => {
    const st = formState(page);
    return t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL, cookie: st.cookie },
      payload: form({ formToken: st.formToken, ...fields }),
    });
  };
  const html = (body: string) => body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

  // Opt-in paths. Each returns what the person was told, on which channel.
  const optIns: Record<string, (s: Seed, phone: string) => Promise<Ack>> = {
    async 'web page'(s, phone) {
      const page = await t.app.inject({ method: 'GET', url: `/p/${s.business.slug}/opt-in` });
      const r = await postForm(`/p/${s.business.slug}/opt-in?lang=en`, page, {
        topics: 'delivery',
        phone,
        country: 'US',
      });
      const code = /My code: (OL-[0-9A-Z-]+)/.exec(r.body)![1]!;
      const out = await db().transaction((trx) =>
        redeemOwnershipCode(t.ctx, trx, s.business.id, {
          text: code,
          messageId: `wamid.${phone}`,
          waId: phone.slice(1),
          occurredAt: t.ctx.clock.now(),
        }),
      );
      assert.equal(out?.outcome, 'recorded');
      return { channel: 'page', text: html(r.body) };
    },
    async SMS(s, phone) {
      await configureTwilioChannel(t.app, s.apiKey);
      assert.equal(
        (
          await api(s.apiKey, 'POST', '/v1/sms/invitations', {
            person: { phone },
            topics: ['delivery'],
            textHash: s.text.hash,
            mode: 'keyword',
          })
        ).statusCode,
        201,
      );
      const r = await twilioPost(t.app, '/webhooks/twilio/sms', sms(phone, 'YES WA'));
      return { channel: 'twiml', text: r.body };
    },
    async 'email link'(s, phone) {
      await api(s.apiKey, 'PUT', '/v1/capture-settings', { ownershipCheck: false });
      const before = sink.messages.length;
      assert.equal(
        (
          await api(s.apiKey, 'POST', '/v1/email/invitations', {
            email: 'c@example.com',
            person: { phone },
            topics: ['delivery'],
            textHash: s.text.hash,
          })
        ).statusCode,
        201,
      );
      await sink.waitFor(before + 1);
      const link = /(https:\/\/optline\.example\/p\/\S+opt-in\?inv=\S+)/.exec(sink.messages.at(-1)!.text)![1]!;
      const page = await t.app.inject({ method: 'GET', url: link.slice(PUBLIC_URL.length) });
      const r = await postForm(`/p/${s.business.slug}/opt-in?lang=en`, page, {
        inv: new URL(link).searchParams.get('inv')!,
        topics: 'delivery',
        phone,
        country: 'US',
      });
      return { channel: 'page', text: html(r.body) };
    },
    async IVR(s, phone) {
      await configureTwilioChannel(t.app, s.apiKey);
      const params = call(phone);
      const menu = await twilioPost(t.app, '/webhooks/twilio/voice', params);
      const action = /action="([^"]+)"/.exec(menu.body)![1]!.replace(/&amp;/g, '&');
      const r = await twilioPost(t.app, action.slice(PUBLIC_URL.length), { ...params, Digits: '1' });
      return { channel: 'say', text: r.body };
    },
    async 'preference page'(s, phone) {
      // The person is known (an earlier opt-in to billing) and turns delivery on from the page.
      await api(s.apiKey, 'POST', '/v1/opt-ins', {
        person: { phone },
        topics: ['billing'],
        channel: 'app',
        action: 'toggled_setting',
        textHash: s.text.hash,
        evidence: { appUserId: 'u1' },
      });
      await t.ctx.database.db.deleteFrom('messages').where('business_id', '=', s.business.id).execute();
      const person = (await findPerson(db().db, s.business.id, { phone }))!;
      const link = preferenceLink(t.ctx, s.business.id, person.id);
      const page = await t.app.inject({ method: 'GET', url: link.path });
      t.ctx.clock.advance(1000);
      const r = await postForm(`${link.path}?lang=en`, page, { topics: ['billing', 'delivery'], action: 'save' });
      const done = await t.app.inject({ method: 'GET', url: String(r.headers.location) });
      return { channel: 'page', text: html(done.body) };
    },
    async API(s, phone) {
      const r = await api(s.apiKey, 'POST', '/v1/opt-ins', {
        person: { phone },
        topics: ['delivery'],
        channel: 'app',
        action: 'toggled_setting',
        textHash: s.text.hash,
        evidence: { appUserId: 'user-42', deviceId: 'ios-1' },
      });
      assert.equal(r.statusCode, 201, r.body);
      return { channel: 'api', text: r.body };
    },
  };

  // Opt-out paths, paired with the opt-in path of the same name where there is one.
  const optOuts: Record<string, (s: Seed, phone: string) => Promise<Ack>> = {
    async 'web page'(s, phone) {
      const person = (await findPerson(db().db, s.business.id, { phone }))!;
      const link = preferenceLink(t.ctx, s.business.id, person.id);
      const page = await t.app.inject({ method: 'GET', url: link.path });
      const r = await postForm(`${link.path}?lang=en`, page, { action: 'stop_all' });
      const done = await t.app.inject({ method: 'GET', url: String(r.headers.location) });
      return { channel: 'page', text: html(done.body) };
    },
    async SMS(_s, phone) {
      const r = await twilioPost(t.app, '/webhooks/twilio/sms', sms(phone, 'Stop.'));
      return { channel: 'twiml', text: r.body };
    },
    async 'email link'() {
      const unsub = /(https:\/\/optline\.example\/p\/unsubscribe\/\S+)/.exec(sink.messages.at(-1)!.text)![1]!;
      const r = await t.app.inject({
        method: 'POST',
        url: unsub.slice(PUBLIC_URL.length),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      return { channel: 'page', text: html(r.body) };
    },
    async IVR(_s, phone) {
      const params = call(phone);
      const menu = await twilioPost(t.app, '/webhooks/twilio/voice', params);
      const action = /action="([^"]+)"/.exec(menu.body)![1]!.replace(/&amp;/g, '&');
      const r = await twilioPost(t.app, action.slice(PUBLIC_URL.length), { ...params, Digits: '9' });
      return { channel: 'say', text: r.body };
    },
    async 'preference page'(s, phone) {
      return optOuts['web page']!(s, phone);
    },
    async API(s, phone) {
      const r = await api(s.apiKey, 'POST', '/v1/opt-outs', {
        person: { phone },
        scope: 'all',
        channel: 'app',
        action: 'toggled_setting',
        evidence: { appUserId: 'user-42' },
      });
      return { channel: 'api', text: r.body };
    },
  };

  const expectedIn: Record<string, RegExp> = {
    page: /You are subscribed|Your choices are saved|One last step: confirm on WhatsApp/,
    twiml: /<Response><Message>Thanks!/,
    say: /<Say language="en-US">Thank you\./,
    api: /"confirmationMessageId":"msg_/,
  };
  const expectedOut: Record<string, RegExp> = {
    page: /You will no longer get WhatsApp messages|You are unsubscribed/,
    twiml: /<Response><Message>You will no longer receive WhatsApp messages/,
    say: /<Say language="en-US">You will no longer receive WhatsApp messages/,
    api: /"cancelledMessages":2/,
  };

  let n = 0;
  for (const channel of Object.keys(optIns)) {
    it(`${channel}: opt-in queues the WhatsApp confirmation; opt-out cancels the queue and the gate refuses`, async () => {
      const s = await seedCaptureBusiness(t.ctx);
      const phone = `+1628555${String(2000 + ++n)}`;
      const smsBefore = fake.messages.length;
      const ack = await optIns[channel]!(s, phone);
      assert.match(ack.text, expectedIn[ack.channel]!, `${channel} acknowledged on its own channel`);
      const confirmations = await db()
        .db.selectFrom('messages')
        .selectAll()
        .where('business_id', '=', s.business.id)
        .where('kind', '=', 'confirmation')
        .execute();
      assert.equal(confirmations.length, 1, `${channel}: one WhatsApp confirmation`);
      assert.equal(confirmations[0]!.status, 'queued');
      assert.equal((await decideSend(t.ctx, s.business.id, { person: { phone }, topic: 'delivery' })).outcome, 'allow');

      const note = await queueMessage(t.ctx, s.business.id, {
        person: { phone },
        topic: 'delivery',
        template: { name: 'order_shipped', language: 'en' },
      });
      assert.equal(note.outcome, 'queued');
      t.ctx.clock.advance(1000);
      const messagesBefore = await db()
        .db.selectFrom('messages')
        .select('id')
        .where('business_id', '=', s.business.id)
        .execute();
      const out = await optOuts[channel]!(s, phone);
      assert.match(out.text, expectedOut[out.channel]!, `${channel}: the opt-out is acknowledged where it was asked`);
      const after = await db()
        .db.selectFrom('messages')
        .select(['id', 'status', 'kind'])
        .where('business_id', '=', s.business.id)
        .execute();
      assert.equal(after.length, messagesBefore.length, 'no WhatsApp message is started to acknowledge an opt-out');
      assert.ok(
        after.every((m) => m.status === 'cancelled'),
        `${channel}: everything queued is cancelled`,
      );
      const d = await decideSend(t.ctx, s.business.id, { person: { phone }, topic: 'delivery' });
      assert.deepEqual(
        d.reasons.map((r) => r.code),
        ['OPTED_OUT'],
      );
      const again = await queueMessage(t.ctx, s.business.id, {
        person: { phone },
        topic: 'delivery',
        template: { name: 'order_shipped', language: 'en' },
      });
      assert.equal(again.outcome, 'refused');
      const invitesSent = channel === 'SMS' ? 1 : 0;
      assert.equal(fake.messages.length - smsBefore, invitesSent, 'no SMS goes out to acknowledge anything');
    });
  }
});
