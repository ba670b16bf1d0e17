import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../../src/worker/dispatch/render.js';
import { confirmationTexts, CONFIRMATION_TEXTS } from '../../../src/domain/chat/confirmation-texts.js';
import type { DispatchItem } from '../../../src/worker/dispatch/types.js';

// Loosely typed on purpose: rows stored by earlier versions (or damaged) must still render or fail cleanly.
const item = (o: Record<string, unknown> = {}): DispatchItem =>
  ({
    id: 'msg_01',
    businessId: 'bus_1',
    personId: 'per_1',
    kind: 'confirmation',
    payload: { topicKeys: ['delivery', 'billing'], doubleOptIn: false, language: 'en' },
    rawPayload: '{}',
    relatedEventId: 'evt_1',
    attempt: 1,
    recipient: { phone: '+447911123456', waId: null, bsuid: null },
    windowOpen: true,
    business: { displayName: 'Acme', confirmationTemplate: null },
    topicNames: ['delivery updates', 'billing alerts'],
    topicKeys: ['delivery', 'billing'],
    account: { phoneNumberId: 'pn', accessToken: 't', ratePerSecond: 80 },
    ...o,
  }) as DispatchItem;

test('every language names the business, the topics, WhatsApp and STOP; buttons fit Meta’s 20 characters', () => {
  for (const [lang, t] of Object.entries(CONFIRMATION_TEXTS)) {
    for (const body of [t.subscribed, t.askConfirm]) {
      for (const part of ['{business}', '{topics}', 'WhatsApp', 'STOP'])
        assert.ok(body.includes(part), `${lang}: ${part}`);
    }
    assert.ok([...t.confirmButton].length <= 20 && [...t.notMeButton].length <= 20, lang);
  }
  assert.equal(confirmationTexts('pt-BR').language, 'pt');
  assert.equal(confirmationTexts('es_MX').language, 'es');
  assert.equal(confirmationTexts('zz').language, 'en');
  assert.equal(confirmationTexts(null).language, 'en');
});

test('confirmation text lists topics the way the language does', () => {
  const en = render(item());
  assert.ok(en.ok);
  assert.equal(
    (en.body.text as { body: string }).body,
    'Acme: you are subscribed to delivery updates and billing alerts on WhatsApp. Reply STOP to unsubscribe at any time.',
  );
  const es = render(
    item({ payload: { topicKeys: ['a', 'b', 'c'], language: 'es' }, topicNames: ['pedidos', 'facturas', 'ofertas'] }),
  );
  assert.ok(es.ok);
  assert.match((es.body.text as { body: string }).body, /pedidos, facturas y ofertas por WhatsApp/);
  assert.equal(es.body.biz_opaque_callback_data, 'msg_01');
});

test('recipient: phone, else the wa_id digits, else the BSUID; nobody to send to is a failure', () => {
  const byWa = render(item({ recipient: { phone: null, waId: '447911123456', bsuid: 'US.1' } }));
  assert.ok(byWa.ok && byWa.body.to === '447911123456' && byWa.body.recipient === undefined);
  const byBsuid = render(item({ recipient: { phone: null, waId: null, bsuid: 'US.1' } }));
  assert.ok(byBsuid.ok && byBsuid.body.recipient === 'US.1' && byBsuid.body.to === undefined);
  const none = render(item({ recipient: { phone: null, waId: null, bsuid: null } }));
  assert.deepEqual(none.ok ? null : none.errorCode, 'NO_RECIPIENT');
});

test('replies: an interactive object stored by an earlier version as it is, else the text; a notification without template cannot render', () => {
  const interactive = {
    type: 'button',
    body: { text: 'Subscribe?' },
    action: { buttons: [{ type: 'reply', reply: { id: 'optin', title: 'Yes' } }] },
  };
  const r = render(item({ kind: 'reply', payload: { text: 'Subscribe?', interactive } }));
  assert.ok(r.ok);
  assert.deepEqual(r.body, {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: '+447911123456',
    type: 'interactive',
    interactive,
    biz_opaque_callback_data: 'msg_01',
  });
  const t = render(item({ kind: 'reply', payload: { text: 'Hello' } }));
  assert.ok(t.ok && (t.body.text as { body: string }).body === 'Hello');
  const bad = render(item({ kind: 'notification', payload: {} }));
  assert.equal(bad.ok ? null : bad.errorCode, 'RENDER_FAILED');
  const empty = render(
    item({ kind: 'notification', payload: { template: { name: 'x', language: 'en', bodyParams: [''] } } }),
  );
  assert.equal(empty.ok ? null : empty.errorCode, 'RENDER_FAILED', 'a builder refusal is permanent');
});

test('an opt-in prompt renders as buttons or a one-section list, with the reply ids the chat ingest parses', () => {
  const options = [
    { id: 'optline:optin:abc', title: 'Yes' },
    { id: 'optline:dismiss', title: 'No thanks' },
  ];
  const b = render(
    item({
      kind: 'reply',
      payload: { text: 'Join?', purpose: 'optin_prompt', prompt: { style: 'buttons', body: 'Join?', options } },
    }),
  );
  assert.ok(b.ok);
  const bi = b.body.interactive as { type: string; action: { buttons: { reply: { id: string } }[] } };
  assert.equal(bi.type, 'button');
  assert.deepEqual(
    bi.action.buttons.map((x) => x.reply.id),
    options.map((o) => o.id),
  );
  const l = render(
    item({
      kind: 'reply',
      payload: {
        text: 'Join?',
        purpose: 'optin_prompt',
        prompt: { style: 'list', body: 'Join?', options, buttonText: 'Pick' },
      },
    }),
  );
  assert.ok(l.ok);
  const li = l.body.interactive as { type: string; action: { button: string; sections: { rows: { id: string }[] }[] } };
  assert.equal(li.type, 'list');
  assert.equal(li.action.button, 'Pick');
  assert.deepEqual(
    li.action.sections[0]!.rows.map((r) => r.id),
    options.map((o) => o.id),
  );
  const tooLong = render(
    item({
      kind: 'reply',
      payload: {
        text: 'x',
        purpose: 'optin_prompt',
        prompt: { style: 'buttons', body: 'x', options: [{ id: 'a', title: 'y'.repeat(21) }] },
      },
    }),
  );
  assert.equal(tooLong.ok ? null : tooLong.errorCode, 'RENDER_FAILED');
});
