import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebhook } from '../../../src/channels/whatsapp-cloud/payload.js';
import type { WebhookItem } from '../../../src/channels/whatsapp-cloud/payload.js';
import { verifyMetaSignature } from '../../../src/channels/whatsapp-cloud/signature.js';
import {
  batch,
  DEFAULT_WABA_ID,
  inboundButton,
  inboundInteractive,
  inboundText,
  legacyPreferenceSystem,
  metaJson,
  sendSignedWebhook,
  statusUpdate,
  userPreference,
} from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { startReceiver } from './helpers/receiver.js';

const PHONE = '106540352242922';
const TS = 1739321024000;

function parseOne(env: object): Record<string, unknown> {
  // Through the wire form, as a receiver would see it.
  const r = parseWebhook(JSON.parse(metaJson(env)));
  assert.equal(r.ok, true);
  if (!r.ok) throw new Error('unreachable');
  assert.equal(r.items.length, 1);
  const { raw: _raw, ...rest } = r.items[0] as WebhookItem;
  return rest;
}

test('inboundText round-trips', () => {
  assert.deepEqual(
    parseOne(
      inboundText({
        phoneNumberId: PHONE,
        wabaId: '42',
        from: '16505551234',
        text: 'STOP',
        id: 'wamid.T1',
        timestampMs: TS,
        profileName: 'Sheena',
        userId: 'US.1',
      }),
    ),
    {
      kind: 'message',
      dedupeKey: 'wa:msg:wamid.T1',
      wabaId: '42',
      phoneNumberId: PHONE,
      messageId: 'wamid.T1',
      timestampMs: TS,
      from: '16505551234',
      waId: '16505551234',
      userId: 'US.1',
      profileName: 'Sheena',
      type: 'text',
      text: 'STOP',
    },
  );
  const forwarded = parseOne(inboundText({ phoneNumberId: PHONE, from: '16505551234', text: 'STOP', forwarded: true }));
  assert.equal(forwarded.forwarded, true);
  assert.equal(forwarded.wabaId, DEFAULT_WABA_ID);
  assert.match(String(forwarded.messageId), /^wamid\./);
});

test('inboundText for a username-only user carries from_user_id and no phone', () => {
  const env = inboundText({ phoneNumberId: PHONE, userId: 'US.9', text: 'hi', timestampMs: TS });
  const item = parseOne(env);
  assert.equal(item.from, undefined);
  assert.equal(item.waId, undefined);
  assert.equal(item.userId, 'US.9');
  assert.throws(() => inboundText({ phoneNumberId: PHONE, text: 'hi' }), /`from` or `userId`/);
});

test('inboundButton round-trips as a template quick-reply', () => {
  const item = parseOne(
    inboundButton({
      phoneNumberId: PHONE,
      from: '16505551234',
      payload: 'OPTOUT_MARKETING',
      text: 'Stop promotions',
      contextMessageId: 'wamid.TPL',
      timestampMs: TS,
    }),
  );
  assert.equal(item.type, 'button');
  assert.deepEqual(item.button, { payload: 'OPTOUT_MARKETING', text: 'Stop promotions' });
  assert.equal(item.contextMessageId, 'wamid.TPL');
  assert.equal(item.text, undefined);
});

test('inboundInteractive round-trips button and list replies', () => {
  for (const replyType of ['button_reply', 'list_reply'] as const) {
    const item = parseOne(
      inboundInteractive({
        phoneNumberId: PHONE,
        from: '16505551234',
        replyType,
        id: 'optin_yes',
        title: 'Yes',
        messageId: 'wamid.I1',
      }),
    );
    assert.deepEqual(item.interactive, { type: replyType, id: 'optin_yes', title: 'Yes' });
    assert.equal(item.messageId, 'wamid.I1');
  }
});

test('userPreference and legacyPreferenceSystem round-trip to the same preference', () => {
  const modern = parseOne(
    userPreference({ phoneNumberId: PHONE, waId: '16505551234', value: 'stop', timestampMs: TS }),
  );
  const legacy = parseOne(
    legacyPreferenceSystem({ phoneNumberId: PHONE, waId: '16505551234', value: 'stop', timestampMs: TS }),
  );
  assert.deepEqual(modern, {
    kind: 'preference',
    dedupeKey: `wa:pref:16505551234:marketing_messages:stop:${TS}`,
    wabaId: DEFAULT_WABA_ID,
    phoneNumberId: PHONE,
    waId: '16505551234',
    category: 'marketing_messages',
    value: 'stop',
    timestampMs: TS,
    detail: 'User requested to stop marketing messages',
  });
  assert.deepEqual(legacy, modern);
  // user_preferences carry an integer timestamp, messages a string one.
  const rawPref = userPreference({ phoneNumberId: PHONE, waId: '1', value: 'resume', timestampMs: TS });
  assert.equal(
    typeof (rawPref.entry[0]?.changes[0]?.value.user_preferences as { timestamp: unknown }[])[0]?.timestamp,
    'number',
  );
  assert.equal(parseOne(rawPref).value, 'resume');
});

test('statusUpdate round-trips, including failures', () => {
  const item = parseOne(
    statusUpdate({
      phoneNumberId: PHONE,
      messageId: 'wamid.OUT',
      status: 'failed',
      recipientId: '16505551234',
      timestampMs: TS,
      bizOpaque: 'b',
      errors: [{ code: 131050, title: 'Stopped', details: 'User stopped marketing' }],
    }),
  );
  assert.deepEqual(item, {
    kind: 'status',
    dedupeKey: 'wa:st:wamid.OUT:failed',
    wabaId: DEFAULT_WABA_ID,
    phoneNumberId: PHONE,
    messageId: 'wamid.OUT',
    status: 'failed',
    timestampMs: TS,
    recipientId: '16505551234',
    bizOpaque: 'b',
    errors: [{ code: 131050, title: 'Stopped', message: 'Stopped', details: 'User stopped marketing' }],
  });
  const read = parseOne(
    statusUpdate({ phoneNumberId: PHONE, messageId: 'wamid.OUT', status: 'read', recipientId: '16505551234' }),
  );
  assert.deepEqual(read.errors, []);
});

test('batch merges into one envelope: one entry per WABA, every change kept', () => {
  const env = batch(
    inboundText({ phoneNumberId: PHONE, wabaId: 'W1', from: '1', text: 'a', id: 'wamid.1' }),
    statusUpdate({ phoneNumberId: PHONE, wabaId: 'W1', messageId: 'wamid.O', status: 'sent', recipientId: '1' }),
    inboundText({ phoneNumberId: '2', wabaId: 'W2', from: '2', text: 'b', id: 'wamid.2' }),
    userPreference({ phoneNumberId: '2', wabaId: 'W2', waId: '2', value: 'stop' }),
  );
  assert.deepEqual(
    env.entry.map((e) => [e.id, e.changes.map((c) => c.field)]),
    [
      ['W1', ['messages', 'messages']],
      ['W2', ['messages', 'user_preferences']],
    ],
  );
  const r = parseWebhook(env);
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && r.items.map((i) => [i.kind, i.wabaId]), [
    ['message', 'W1'],
    ['status', 'W1'],
    ['message', 'W2'],
    ['preference', 'W2'],
  ]);
});

test('sendSignedWebhook posts Meta-style bytes with a verifiable signature; null secret sends unsigned', async (t) => {
  const receiver = await startReceiver({ status: 200, body: 'EVENT_RECEIVED' });
  t.after(() => receiver.close());
  const env = inboundText({ phoneNumberId: PHONE, from: '16505551234', text: 'Café — ARRÊT 🛑' });

  const res = await sendSignedWebhook(receiver.url, env, 'secret-1');
  assert.deepEqual(res, { status: 200, body: 'EVENT_RECEIVED' });
  const unsigned = await sendSignedWebhook(receiver.url, env, null);
  assert.equal(unsigned.status, 200);

  const [signed, plain] = await receiver.waitFor(2);
  assert.ok(signed && plain);
  assert.equal(signed.headers['content-type'], 'application/json');
  // Non-ASCII travels escaped, as Meta sends it; the signature covers exactly those bytes.
  const raw = signed.raw.toString('utf8');
  assert.ok(raw.includes('Caf\\u00e9 \\u2014 ARR\\u00caT \\ud83d\\uded1'), raw);
  assert.ok(/^[\x00-\x7f]*$/.test(raw));
  assert.equal(verifyMetaSignature(signed.raw, signed.headers['x-hub-signature-256'] as string, 'secret-1'), true);
  assert.deepEqual(JSON.parse(raw), env);
  assert.equal(plain.headers['x-hub-signature-256'], undefined);
  assert.equal(verifyMetaSignature(plain.raw, undefined, 'secret-1'), false);
});
