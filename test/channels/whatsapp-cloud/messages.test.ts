import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buttonsMessage,
  listMessage,
  templateMessage,
  textMessage,
} from '../../../src/channels/whatsapp-cloud/messages.js';

test('textMessage builds the Cloud API text body', () => {
  assert.deepEqual(textMessage({ to: '+16505551234', body: 'You are unsubscribed.' }), {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: '+16505551234',
    type: 'text',
    text: { body: 'You are unsubscribed.', preview_url: false },
  });
  assert.equal(
    (textMessage({ to: '16505551234', body: 'x', previewUrl: true }).text as { preview_url: boolean }).preview_url,
    true,
  );
});

test('a BSUID is sent as `recipient`; `to` and `recipient` may both be given', () => {
  const m = textMessage({ recipient: 'US.13491208655302741918', body: 'hi' });
  assert.equal(m.recipient, 'US.13491208655302741918');
  assert.equal('to' in m, false);
  const both = textMessage({ to: '16505551234', recipient: 'US.1', body: 'hi' });
  assert.equal(both.to, '16505551234');
  assert.equal(both.recipient, 'US.1');
});

test('an addressee is required and phone numbers are checked', () => {
  assert.throws(() => textMessage({ body: 'hi' }), /`to` or `recipient`/);
  for (const to of ['whatsapp:+16505551234', '+1 650 555 1234', '', '+0123456']) {
    assert.throws(() => textMessage({ to, body: 'hi' }), /to must be/, to);
  }
  assert.throws(() => textMessage({ to: '16505551234', body: '   ' }), /text body/);
  assert.throws(() => textMessage({ to: '16505551234', body: 'x'.repeat(4097) }), /at most 4096/);
});

test('templateMessage: body params, quick-reply payloads by index, biz opaque data', () => {
  assert.deepEqual(
    templateMessage({
      to: '16505551234',
      name: 'optin_confirm_v1',
      language: 'en_US',
      bodyParams: ['Acme', '24 h'],
      quickReplyPayloads: ['OPTIN_YES', 'OPTOUT_MARKETING'],
      bizOpaque: 'consent-req-8f2c',
    }),
    {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505551234',
      type: 'template',
      template: {
        name: 'optin_confirm_v1',
        language: { code: 'en_US' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Acme' },
              { type: 'text', text: '24 h' },
            ],
          },
          {
            type: 'button',
            sub_type: 'quick_reply',
            index: '0',
            parameters: [{ type: 'payload', payload: 'OPTIN_YES' }],
          },
          {
            type: 'button',
            sub_type: 'quick_reply',
            index: '1',
            parameters: [{ type: 'payload', payload: 'OPTOUT_MARKETING' }],
          },
        ],
      },
      biz_opaque_callback_data: 'consent-req-8f2c',
    },
  );
  const bare = templateMessage({ recipient: 'US.1', name: 'hello_world', language: 'en_US' });
  assert.deepEqual(bare.template, { name: 'hello_world', language: { code: 'en_US' } });
  assert.equal('biz_opaque_callback_data' in bare, false);
  assert.throws(() => templateMessage({ to: '16505551234', name: '', language: 'en_US' }), /template name/);
});

test('buttonsMessage builds reply buttons', () => {
  assert.deepEqual(
    buttonsMessage({
      to: '16505551234',
      body: 'Get offers from Acme?',
      buttons: [
        { id: 'optin_yes', title: 'Yes' },
        { id: 'optin_no', title: 'No' },
      ],
    }),
    {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505551234',
      type: 'interactive',
      interactive: {
        type: 'button',
        body: { text: 'Get offers from Acme?' },
        action: {
          buttons: [
            { type: 'reply', reply: { id: 'optin_yes', title: 'Yes' } },
            { type: 'reply', reply: { id: 'optin_no', title: 'No' } },
          ],
        },
      },
    },
  );
});

test('buttonsMessage enforces Meta limits with clear errors', () => {
  const b = (buttons: { id: string; title: string }[]) => () =>
    buttonsMessage({ to: '16505551234', body: 'Q?', buttons });
  assert.throws(b([]), /1 to 3/);
  assert.throws(b([1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `B${i}` }))), /1 to 3/);
  assert.throws(b([{ id: 'a', title: 'x'.repeat(21) }]), /title must be at most 20/);
  assert.doesNotThrow(b([{ id: 'a', title: 'x'.repeat(20) }]));
  // Counted in characters: 20 emoji are 40 UTF-16 units but still 20 characters.
  assert.doesNotThrow(b([{ id: 'a', title: '🛑'.repeat(20) }]));
  assert.throws(b([{ id: 'i'.repeat(257), title: 'A' }]), /id must be at most 256/);
  assert.doesNotThrow(b([{ id: 'i'.repeat(256), title: 'A' }]));
  assert.throws(
    b([
      { id: 'same', title: 'A' },
      { id: 'same', title: 'B' },
    ]),
    /button ids must be unique/,
  );
  assert.throws(
    b([
      { id: 'a', title: 'Same' },
      { id: 'b', title: 'Same' },
    ]),
    /button titles must be unique/,
  );
  assert.throws(b([{ id: '', title: 'A' }]), /id must be a non-empty/);
  assert.throws(
    () => buttonsMessage({ to: '16505551234', body: 'x'.repeat(1025), buttons: [{ id: 'a', title: 'A' }] }),
    /body must be at most 1024/,
  );
});

test('listMessage builds a list and checks its limits', () => {
  const m = listMessage({
    to: '16505551234',
    body: 'What would you like to hear about?',
    buttonText: 'Choose',
    sections: [
      {
        title: 'Topics',
        rows: [
          { id: 'news', title: 'News', description: 'Weekly digest' },
          { id: 'deals', title: 'Deals' },
        ],
      },
      { title: 'Other', rows: [{ id: 'none', title: 'Nothing' }] },
    ],
  });
  assert.deepEqual(m.interactive, {
    type: 'list',
    body: { text: 'What would you like to hear about?' },
    action: {
      button: 'Choose',
      sections: [
        {
          title: 'Topics',
          rows: [
            { id: 'news', title: 'News', description: 'Weekly digest' },
            { id: 'deals', title: 'Deals' },
          ],
        },
        { title: 'Other', rows: [{ id: 'none', title: 'Nothing' }] },
      ],
    },
  });
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, title: `Row ${i}` }));
  const l = (o: Partial<Parameters<typeof listMessage>[0]>) => () =>
    listMessage({ to: '16505551234', body: 'b', buttonText: 'Pick', sections: [{ title: 'S', rows: rows(2) }], ...o });
  assert.doesNotThrow(l({}));
  assert.throws(l({ sections: [] }), /sections must have 1 to 10/);
  assert.throws(l({ sections: [{ title: 'S', rows: rows(11) }] }), /1 to 10 rows/);
  assert.throws(
    l({
      sections: [
        {
          title: 'S',
          rows: [
            { id: 'a', title: 'A' },
            { id: 'a', title: 'B' },
          ],
        },
      ],
    }),
    /row ids must be unique/,
  );
  assert.throws(l({ buttonText: 'x'.repeat(21) }), /buttonText must be at most 20/);
  assert.throws(
    l({ sections: [{ title: 'S', rows: [{ id: 'a', title: 'x'.repeat(25) }] }] }),
    /title must be at most 24/,
  );
  assert.throws(
    l({ sections: [{ title: 'S', rows: [{ id: 'a', title: 'A', description: 'd'.repeat(73) }] }] }),
    /description must be at most 72/,
  );
  assert.throws(
    l({
      sections: [
        { title: '', rows: rows(1) },
        { title: 'T', rows: [{ id: 'z', title: 'Z' }] },
      ],
    }),
    /sections\[0\]\.title/,
  );
  assert.throws(l({ sections: [{ title: 'S', rows: [] }] }), /1 to 10 rows|at least one row/);
});
