import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebhook } from '../../../src/channels/whatsapp-cloud/payload.js';
import type { MessageItem, StatusItem, WebhookItem } from '../../../src/channels/whatsapp-cloud/payload.js';
import {
  batchedEnvelope,
  envelope,
  everyMessageType,
  messagesChange,
  PHONE_A,
  PHONE_B,
  WABA_1,
  WABA_2,
} from './helpers/fixtures.js';

function items(body: unknown, receivedAtMs = 1_800_000_000_000): WebhookItem[] {
  const r = parseWebhook(body, { receivedAtMs });
  assert.equal(r.ok, true, JSON.stringify(r));
  return (r as { ok: true; items: WebhookItem[] }).items;
}

function only<K extends WebhookItem['kind']>(list: WebhookItem[], kind: K): Extract<WebhookItem, { kind: K }>[] {
  return list.filter((i): i is Extract<WebhookItem, { kind: K }> => i.kind === kind);
}

function oneMessage(message: unknown, contacts: unknown[] = []): WebhookItem {
  const list = items(envelope([{ id: WABA_1, changes: [messagesChange(PHONE_A, { contacts, messages: [message] })] }]));
  assert.equal(list.length, 1);
  return list[0] as WebhookItem;
}

test('structurally unusable envelopes are refused, naming the field', () => {
  const cases: [unknown, string][] = [
    [null, 'body'],
    ['{"object":"whatsapp_business_account"}', 'body'],
    [[], 'body'],
    [{ entry: [] }, 'object'],
    [{ object: 'page', entry: [] }, 'object'],
    [{ object: 'whatsapp_business_account' }, 'entry'],
    [{ object: 'whatsapp_business_account', entry: {} }, 'entry'],
  ];
  for (const [body, field] of cases) {
    const r = parseWebhook(body);
    assert.equal(r.ok, false, JSON.stringify(body));
    if (!r.ok) {
      assert.equal(r.field, field);
      assert.ok(r.message.length > 0);
    }
  }
  assert.deepEqual(parseWebhook({ object: 'whatsapp_business_account', entry: [] }), { ok: true, items: [] });
});

test('a batched envelope yields every element of every entry and change, each with its routing', () => {
  const list = items(batchedEnvelope());
  assert.deepEqual(
    list.map((i) => [i.kind, i.wabaId, 'phoneNumberId' in i ? i.phoneNumberId : undefined, i.dedupeKey]),
    [
      ['message', WABA_1, PHONE_A, 'wa:msg:wamid.A1'],
      ['message', WABA_1, PHONE_A, 'wa:msg:wamid.A2'],
      ['message', WABA_1, PHONE_A, 'wa:msg:wamid.A3'],
      ['status', WABA_1, PHONE_A, 'wa:st:wamid.OUT1:read'],
      ['status', WABA_1, PHONE_A, 'wa:st:wamid.OUT1:delivered'],
      ['status', WABA_1, PHONE_A, 'wa:st:wamid.OUT2:failed'],
      ['message', WABA_2, PHONE_B, 'wa:msg:wamid.B1'],
      ['message', WABA_2, PHONE_B, 'wa:msg:wamid.B2'],
      ['preference', WABA_2, PHONE_B, 'wa:pref:447700900123:marketing_messages:stop:1731705721000'],
      ['preference', WABA_2, PHONE_B, 'wa:pref:447700900123:marketing_messages:resume:1731705800000'],
    ],
  );
  const [a1, a2] = only(list, 'message');
  assert.deepEqual(
    {
      from: a1?.from,
      waId: a1?.waId,
      userId: a1?.userId,
      profileName: a1?.profileName,
      text: a1?.text,
      ts: a1?.timestampMs,
    },
    {
      from: '16505551234',
      waId: '16505551234',
      userId: 'US.13491208655302741918',
      profileName: 'Sheena Nelson',
      text: 'STOP',
      ts: 1739321024000,
    },
  );
  // The second message is matched to the second contact by wa_id, not to contacts[0].
  assert.equal(a2?.profileName, 'Ana Souza');
  assert.equal(a2?.waId, '5511987654321');
  assert.equal(a2?.userId, undefined);
  assert.equal(a2?.text, 'olá');

  const failed = only(list, 'status').find((s) => s.status === 'failed');
  assert.deepEqual(failed?.errors, [
    {
      code: 131050,
      title:
        'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business',
      message: 'Unable to deliver the message',
      details: 'User stopped marketing messages',
    },
  ]);
  assert.equal(failed?.bizOpaque, 'consent-req-8f2c');
  assert.equal(failed?.recipientId, '5511987654321');
  const prefs = only(list, 'preference');
  assert.deepEqual(
    prefs.map((p) => [p.value, p.waId, p.category, p.timestampMs, p.detail]),
    [
      ['stop', '447700900123', 'marketing_messages', 1731705721000, 'User requested to stop marketing messages'],
      ['resume', '447700900123', 'marketing_messages', 1731705800000, 'User requested to resume marketing messages'],
    ],
  );
});

test('every message type is a message item; only text has text', () => {
  const msgs = everyMessageType();
  const list = items(
    envelope([
      {
        id: WABA_1,
        changes: [
          messagesChange(PHONE_A, { contacts: [{ profile: { name: 'S' }, wa_id: '16505551234' }], messages: msgs }),
        ],
      },
    ]),
  );
  assert.equal(list.length, msgs.length);
  const byId = new Map(only(list, 'message').map((m) => [m.messageId, m]));
  assert.equal(byId.size, msgs.length);
  for (const m of byId.values()) {
    assert.equal(m.from, '16505551234');
    assert.equal(m.profileName, 'S');
    assert.equal(m.text === undefined, m.type !== 'text', m.messageId);
  }
  const get = (id: string): MessageItem => byId.get(id) as MessageItem;
  assert.equal(get('wamid.T_TEXT').text, 'Hello');
  assert.deepEqual(get('wamid.T_BUTTON').button, { payload: 'YES_PLEASE', text: 'Yes please' });
  assert.equal(get('wamid.T_BUTTON').contextMessageId, 'wamid.TPL');
  assert.deepEqual(get('wamid.T_BREPLY').interactive, { type: 'button_reply', id: 'optin_yes', title: 'Yes' });
  assert.deepEqual(get('wamid.T_LREPLY').interactive, { type: 'list_reply', id: 'row1', title: 'Weekly' });
  assert.equal(get('wamid.T_NFM').type, 'interactive');
  assert.equal(get('wamid.T_NFM').interactive, undefined);
  for (const [id, type] of [
    ['wamid.T_REACTION', 'reaction'],
    ['wamid.T_LOCATION', 'location'],
    ['wamid.T_IMAGE', 'image'],
    ['wamid.T_VIDEO', 'video'],
    ['wamid.T_AUDIO', 'audio'],
    ['wamid.T_DOCUMENT', 'document'],
    ['wamid.T_STICKER', 'sticker'],
    ['wamid.T_CONTACTS', 'contacts'],
    ['wamid.T_UNSUPPORTED', 'unsupported'],
    ['wamid.T_ORDER', 'order'],
    ['wamid.T_WELCOME', 'request_welcome'],
  ] as const) {
    assert.equal(get(id).type, type);
    assert.equal(get(id).button, undefined);
    assert.equal(get(id).interactive, undefined);
  }
  // An image caption is not a text message: "STOP" as a caption must not read as text.
  assert.equal(get('wamid.T_IMAGE').text, undefined);
  assert.deepEqual(get('wamid.T_SYS_NUMBER').system, {
    type: 'user_changed_number',
    body: 'User A changed from 16505551234 to 16505559999',
    newWaId: '16505559999',
  });
  assert.equal(get('wamid.T_SYS_IDENTITY').system?.type, 'customer_identity_changed');
  assert.deepEqual(get('wamid.T_UNSUPPORTED').errors, [
    {
      code: 131051,
      title: 'Message type unknown',
      message: 'Message type unknown',
      details: 'Message type is currently not supported.',
    },
  ]);
  assert.deepEqual(get('wamid.T_TEXT').raw, msgs[0]);
});

test('a BSUID-only message (no phone number) keeps the user id and profile', () => {
  const m = oneMessage(
    {
      from_user_id: 'US.13491208655302741918',
      id: 'wamid.U1',
      timestamp: '1775000000',
      type: 'text',
      text: { body: 'STOP' },
    },
    [{ profile: { name: 'Sheena', username: '@sheena' }, user_id: 'US.13491208655302741918' }],
  ) as MessageItem;
  assert.equal(m.kind, 'message');
  assert.equal(m.from, undefined);
  assert.equal(m.waId, undefined);
  assert.equal(m.userId, 'US.13491208655302741918');
  assert.equal(m.profileName, 'Sheena');
  assert.equal(m.text, 'STOP');
});

test('contact matching: by wa_id, else by user id, else the only contact, else none', () => {
  const msg = { from: '16505551234', id: 'wamid.C1', timestamp: '1739321024', type: 'text', text: { body: 'hi' } };
  // wa_id may differ from the phone number; with a single contact it is still this user's.
  const single = oneMessage(msg, [{ profile: { name: 'Solo' }, wa_id: '16505550000' }]) as MessageItem;
  assert.equal(single.waId, '16505550000');
  assert.equal(single.profileName, 'Solo');
  const ambiguous = oneMessage(msg, [
    { profile: { name: 'X' }, wa_id: '1' },
    { profile: { name: 'Y' }, wa_id: '2' },
  ]) as MessageItem;
  assert.equal(ambiguous.waId, undefined);
  assert.equal(ambiguous.profileName, undefined);
  const byUserId = oneMessage(
    { from_user_id: 'US.2', id: 'wamid.C2', timestamp: '1739321024', type: 'text', text: { body: 'hi' } },
    [
      { profile: { name: 'One' }, user_id: 'US.1' },
      { profile: { name: 'Two' }, user_id: 'US.2' },
    ],
  ) as MessageItem;
  assert.equal(byUserId.profileName, 'Two');
  const none = oneMessage(msg) as MessageItem;
  assert.equal(none.waId, undefined);
  assert.equal(none.from, '16505551234');
});

test('a forwarded STOP is still a text message from this user, marked forwarded', () => {
  for (const context of [{ forwarded: true }, { frequently_forwarded: true }]) {
    const m = oneMessage({
      context,
      from: '16505551234',
      id: 'wamid.F1',
      timestamp: '1739321024',
      type: 'text',
      text: { body: 'STOP' },
    }) as MessageItem;
    assert.equal(m.kind, 'message');
    assert.equal(m.text, 'STOP');
    assert.equal(m.forwarded, true);
    assert.equal(m.contextMessageId, undefined);
  }
  const plain = oneMessage({
    from: '16505551234',
    id: 'wamid.F2',
    timestamp: '1739321024',
    type: 'text',
    text: { body: 'STOP' },
  }) as MessageItem;
  assert.equal(plain.forwarded, undefined);
});

test('the legacy system user_preference_changed becomes a preference item like the new form', () => {
  const legacy = oneMessage(
    {
      from: '16505551234',
      id: 'wamid.L1',
      timestamp: '1731705721',
      type: 'system',
      system: { type: 'user_preference_changed', body: 'User requested to stop marketing messages', marketing: 'stop' },
    },
    [{ profile: { name: 'S' }, wa_id: '16505551234' }],
  );
  const modern = items(
    envelope([
      {
        id: WABA_1,
        changes: [
          {
            field: 'user_preferences',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '1', phone_number_id: PHONE_A },
              contacts: [{ profile: { name: 'S' }, wa_id: '16505551234' }],
              user_preferences: [
                {
                  wa_id: '16505551234',
                  detail: 'User requested to stop marketing messages',
                  category: 'marketing_messages',
                  value: 'stop',
                  timestamp: 1731705721,
                },
              ],
            },
          },
        ],
      },
    ]),
  );
  assert.equal(legacy.kind, 'preference');
  assert.equal(modern.length, 1);
  const strip = (i: WebhookItem) => ({ ...i, raw: undefined });
  // Same event, two wire forms: same normalised item, same dedupe key.
  assert.deepEqual(strip(legacy), strip(modern[0] as WebhookItem));
  assert.equal(legacy.dedupeKey, 'wa:pref:16505551234:marketing_messages:stop:1731705721000');

  const resume = oneMessage({
    from: '16505551234',
    id: 'wamid.L2',
    timestamp: '1731705800',
    type: 'system',
    system: { type: 'user_preference_changed', marketing: 'resume' },
  });
  assert.equal(resume.kind === 'preference' && resume.value, 'resume');
  // An unknown marketing value is not guessed at: it stays a system message.
  const odd = oneMessage({
    from: '16505551234',
    id: 'wamid.L3',
    timestamp: '1731705800',
    type: 'system',
    system: { type: 'user_preference_changed', marketing: 'maybe' },
  });
  assert.equal(odd.kind, 'message');
});

test('preference values other than stop/resume (e.g. signup) are kept as other', () => {
  const list = items(
    envelope([
      {
        id: WABA_1,
        changes: [
          {
            field: 'user_preferences',
            value: {
              metadata: { phone_number_id: PHONE_A },
              user_preferences: [
                { wa_id: '1', category: 'marketing_messages', value: 'signup', signup_id: 'x', timestamp: 1731705721 },
                { wa_id: '1', category: 'marketing_messages', value: 'stop', timestamp: 1731705722 },
              ],
            },
          },
        ],
      },
    ]),
  );
  assert.deepEqual(
    list.map((i) => i.kind),
    ['other', 'preference'],
  );
  assert.equal(list[0]?.kind === 'other' && list[0].field, 'user_preferences');
});

test('unknown fields are stored as other with a stable content-hash key', () => {
  const change = { field: 'account_update', value: { phone_number: '15550783881', event: 'VERIFIED_ACCOUNT' } };
  const [a] = items(envelope([{ id: WABA_1, changes: [change] }]));
  const [b] = items(envelope([{ id: WABA_1, changes: [structuredClone(change)] }]));
  const [c] = items(
    envelope([{ id: WABA_1, changes: [{ ...change, value: { ...change.value, event: 'DISABLED_UPDATE' } }] }]),
  );
  assert.equal(a?.kind, 'other');
  assert.equal(a?.kind === 'other' && a.field, 'account_update');
  assert.match(a?.dedupeKey ?? '', /^wa:other:[0-9a-f]{64}$/);
  assert.equal(a?.dedupeKey, b?.dedupeKey);
  assert.notEqual(a?.dedupeKey, c?.dedupeKey);
  assert.deepEqual(a?.raw, change);
  // Echoes carry messages[] too, but they are ours, not the user's: never message items.
  const echoes = items(
    envelope([
      {
        id: WABA_1,
        changes: [
          {
            field: 'smb_message_echoes',
            value: {
              metadata: { phone_number_id: PHONE_A },
              message_echoes: [{ from: '1', to: '2', id: 'wamid.E', type: 'text', text: { body: 'STOP' } }],
              messages: [{ from: '1', id: 'wamid.E2', timestamp: '1', type: 'text', text: { body: 'STOP' } }],
            },
          },
        ],
      },
    ]),
  );
  assert.deepEqual(
    echoes.map((i) => i.kind),
    ['other'],
  );
});

test('malformed elements become other items and never cost their neighbours', () => {
  const list = items(
    envelope([
      {
        id: WABA_1,
        changes: [
          messagesChange(PHONE_A, {
            messages: [
              { from: '1', id: 'wamid.OK1', timestamp: '1739321024', type: 'text', text: { body: 'a' } },
              { from: '1', timestamp: '1739321024', type: 'text', text: { body: 'no id' } },
              'garbage',
              null,
              { from: '1', id: 'wamid.OK2', timestamp: '1739321024', type: 'text', text: { body: 'b' } },
            ],
            statuses: [
              { id: 'wamid.S', timestamp: '1' },
              { id: 'wamid.S', status: 'sent', timestamp: '1' },
            ],
          }),
          { field: 'messages' },
          'not a change',
          messagesChange(PHONE_A, { messages: { not: 'an array' } }),
        ],
      },
      { id: WABA_2 },
      {
        id: WABA_2,
        changes: [
          messagesChange(PHONE_B, {
            messages: [{ from: '2', id: 'wamid.OK3', timestamp: '1739321024', type: 'text', text: { body: 'c' } }],
          }),
        ],
      },
    ]),
  );
  assert.deepEqual(
    list.map((i) => (i.kind === 'other' ? 'other' : i.dedupeKey)),
    [
      'wa:msg:wamid.OK1',
      'other',
      'other',
      'other',
      'wa:msg:wamid.OK2',
      'other',
      'wa:st:wamid.S:sent',
      'other',
      'other',
      'other',
      'other',
      'wa:msg:wamid.OK3',
    ],
  );
  const others = only(list, 'other');
  for (const o of others) assert.match(o.dedupeKey, /^wa:other:[0-9a-f]{64}$/);
  // Distinct malformed elements get distinct keys; the message without id keeps its content.
  assert.equal(new Set(others.map((o) => o.dedupeKey)).size, others.length);
  assert.deepEqual((others[0]?.raw as { text: unknown }).text, { body: 'no id' });
  assert.equal(others[0]?.field, 'messages');
});

test('messages and statuses without metadata.phone_number_id cannot be routed and become other', () => {
  const list = items(
    envelope([
      {
        id: WABA_1,
        changes: [
          {
            field: 'messages',
            value: { messages: [{ from: '1', id: 'wamid.N', timestamp: '1', type: 'text', text: { body: 'STOP' } }] },
          },
        ],
      },
    ]),
  );
  assert.deepEqual(
    list.map((i) => i.kind),
    ['other'],
  );
});

test('out-of-order statuses are all kept, each with its own timestamp', () => {
  const list = only(items(batchedEnvelope()), 'status').filter((s) => s.messageId === 'wamid.OUT1');
  assert.deepEqual(
    list.map((s) => [s.status, s.timestampMs]),
    [
      ['read', 1750857390000],
      ['delivered', 1750857385000],
    ],
  );
  const ordered = [...list].sort((a: StatusItem, b: StatusItem) => a.timestampMs - b.timestampMs);
  assert.deepEqual(
    ordered.map((s) => s.status),
    ['delivered', 'read'],
  );
  for (const s of list) {
    assert.deepEqual(s.errors, []);
    assert.equal(s.recipientId, '16505551234');
  }
});

test('timestamps: strings and integers of seconds, milliseconds, and a fallback for missing ones', () => {
  const at = (timestamp: unknown): number => {
    const m = oneMessage({ from: '1', id: 'wamid.TS', timestamp, type: 'text', text: { body: 'x' } });
    return (m as MessageItem).timestampMs;
  };
  assert.equal(at('1739321024'), 1739321024000);
  assert.equal(at(1739321024), 1739321024000);
  assert.equal(at(' 1739321024 '), 1739321024000);
  assert.equal(at(1739321024123), 1739321024123);
  assert.equal(at(undefined), 1_800_000_000_000);
  assert.equal(at('yesterday'), 1_800_000_000_000);
  assert.equal(at(-5), 1_800_000_000_000);
});

test('value.errors become an error item with a stable key', () => {
  const change = messagesChange(PHONE_A, {
    errors: [
      {
        code: 130429,
        title: 'Rate limit hit',
        message: 'Rate limit hit',
        error_data: { details: 'Too many messages' },
        href: '/x',
      },
    ],
  });
  const [a] = items(envelope([{ id: WABA_1, changes: [change] }]));
  const [b] = items(envelope([{ id: WABA_1, changes: [structuredClone(change)] }]));
  assert.equal(a?.kind, 'error');
  if (a?.kind !== 'error') return;
  assert.deepEqual(a.errors, [
    { code: 130429, title: 'Rate limit hit', message: 'Rate limit hit', details: 'Too many messages' },
  ]);
  assert.equal(a.phoneNumberId, PHONE_A);
  assert.match(a.dedupeKey, /^wa:err:[0-9a-f]{64}$/);
  assert.equal(a.dedupeKey, b?.dedupeKey);
});

test('a redelivered envelope yields the same dedupe keys', () => {
  const first = items(batchedEnvelope(), 1).map((i) => i.dedupeKey);
  const again = items(JSON.parse(JSON.stringify(batchedEnvelope())), 2).map((i) => i.dedupeKey);
  assert.deepEqual(again, first);
  assert.equal(new Set(first).size, first.length);
});

test('numeric ids are read as digit strings', () => {
  const m = oneMessage({ from: 16505551234, id: 'wamid.NUM', timestamp: '1', type: 'text', text: { body: 'x' } }, [
    { profile: { name: 'N' }, wa_id: 16505551234 },
  ]) as MessageItem;
  assert.equal(m.from, '16505551234');
  assert.equal(m.waId, '16505551234');
});
