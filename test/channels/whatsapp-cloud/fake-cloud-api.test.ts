import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCloudClient } from '../../../src/channels/whatsapp-cloud/client.js';
import { classifyMetaError } from '../../../src/channels/whatsapp-cloud/errors.js';
import { startFakeCloudApi } from '../../../src/channels/whatsapp-cloud/fake-cloud-api.js';
import { templateMessage, textMessage } from '../../../src/channels/whatsapp-cloud/messages.js';
import { parseWebhook } from '../../../src/channels/whatsapp-cloud/payload.js';
import type { StatusItem } from '../../../src/channels/whatsapp-cloud/payload.js';
import { verifyMetaSignature } from '../../../src/channels/whatsapp-cloud/signature.js';
import { closedPort, startReceiver } from './helpers/receiver.js';
import type { Received } from './helpers/receiver.js';

const PHONE = '106540352242922';
const TOKEN = 'token';
const SECRET = 'fake-app-secret';

function statusesOf(received: Received[]): StatusItem[] {
  return received.flatMap((r) => {
    const parsed = parseWebhook(JSON.parse(r.raw.toString('utf8')));
    assert.equal(parsed.ok, true);
    return parsed.ok ? parsed.items.filter((i): i is StatusItem => i.kind === 'status') : [];
  });
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    json: (await res.json()) as { error?: Record<string, unknown> } & Record<string, unknown>,
  };
}

test('accepted sends produce signed status webhooks in Meta envelopes', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const fake = await startFakeCloudApi({
    webhook: { url: receiver.url, appSecret: SECRET, statuses: ['sent', 'delivered', 'read'] },
  });
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });

  const r = await client.send(
    PHONE,
    TOKEN,
    templateMessage({ to: '+16505551234', name: 'optin_confirm_v1', language: 'en_US', bizOpaque: 'req-42' }),
  );
  assert.equal(r.ok, true);
  const got = await receiver.waitFor(3);
  for (const g of got) {
    assert.equal(g.method, 'POST');
    assert.equal(g.path, '/hook');
    const header = g.headers['x-hub-signature-256'] as string | undefined;
    assert.equal(verifyMetaSignature(g.raw, header, SECRET), true);
    assert.equal(verifyMetaSignature(g.raw, header, 'another-secret'), false);
  }
  const statuses = statusesOf(got);
  assert.deepEqual(
    statuses.map((s) => s.status),
    ['sent', 'delivered', 'read'],
  );
  for (const s of statuses) {
    assert.equal(s.messageId, r.ok ? r.messageId : '');
    assert.equal(s.phoneNumberId, PHONE);
    assert.equal(s.recipientId, '16505551234');
    assert.equal(s.bizOpaque, 'req-42');
    assert.deepEqual(s.errors, []);
    assert.ok(Math.abs(s.timestampMs - Date.now()) < 5000);
  }
  await fake.flushWebhooks();
  assert.deepEqual(fake.counts().webhooks, { delivered: 3, failed: 0, dropped: 0 });
});

test('failNext asStatus: 200 now, then a failed status webhook carrying the code (how 131050 arrives)', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const fake = await startFakeCloudApi({ webhook: { url: receiver.url, appSecret: SECRET } });
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });

  fake.failNext('16505551234', 131050, { asStatus: true });
  const r = await client.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: 'promo' }));
  assert.equal(r.ok, true);
  const [failed] = statusesOf(await receiver.waitFor(1));
  assert.equal(failed?.status, 'failed');
  assert.equal(failed?.messageId, r.ok ? r.messageId : '');
  assert.equal(failed?.errors[0]?.code, 131050);
  assert.equal(classifyMetaError(failed?.errors[0]?.code ?? 0).kind, 'marketing_stopped');
  await fake.flushWebhooks();
  assert.equal(receiver.received.length, 1, 'no sent/delivered for a failed message');
  assert.deepEqual(fake.counts(), {
    accepted: 1,
    rejected: 0,
    byCode: { '131050': 1 },
    webhooks: { delivered: 1, failed: 0, dropped: 0 },
  });

  // The injected failure was used up: the next send gets ordinary statuses.
  await client.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: 'again' }));
  assert.deepEqual(
    statusesOf((await receiver.waitFor(3)).slice(1)).map((s) => s.status),
    ['sent', 'delivered'],
  );
});

test('BSUID sends answer with user_id and webhooks carry recipient_user_id', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const fake = await startFakeCloudApi({ webhook: { url: receiver.url, appSecret: SECRET, statuses: ['sent'] } });
  t.after(() => fake.close());
  const r = await createCloudClient({ baseUrl: fake.url }).send(
    PHONE,
    TOKEN,
    textMessage({ recipient: 'US.777', body: 'hi' }),
  );
  assert.equal(r.ok && r.userId, 'US.777');
  const [s] = statusesOf(await receiver.waitFor(1));
  assert.equal(s?.recipientUserId, 'US.777');
  assert.equal(s?.recipientId, undefined);
});

test('webhook delivery failures are counted and never crash the fake', async (t) => {
  const port = await closedPort();
  const refusing = await startFakeCloudApi({ webhook: { url: `http://127.0.0.1:${port}/hook`, appSecret: SECRET } });
  t.after(() => refusing.close());
  const erroring = await startReceiver({ status: 500 });
  t.after(() => erroring.close());
  const failing = await startFakeCloudApi({ webhook: { url: erroring.url, appSecret: SECRET, statuses: ['sent'] } });
  t.after(() => failing.close());

  const c1 = createCloudClient({ baseUrl: refusing.url });
  const c2 = createCloudClient({ baseUrl: failing.url });
  for (let i = 0; i < 3; i++) {
    assert.equal((await c1.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: `${i}` }))).ok, true);
    assert.equal((await c2.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: `${i}` }))).ok, true);
  }
  await Promise.all([refusing.flushWebhooks(), failing.flushWebhooks()]);
  assert.deepEqual(refusing.counts().webhooks, { delivered: 0, failed: 6, dropped: 0 });
  assert.deepEqual(failing.counts().webhooks, { delivered: 0, failed: 3, dropped: 0 });
  assert.equal(refusing.counts().accepted, 3);
});

test('webhook delayMs holds the first webhook back', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const fake = await startFakeCloudApi({
    webhook: { url: receiver.url, appSecret: SECRET, statuses: ['sent'], delayMs: 40 },
  });
  t.after(() => fake.close());
  await createCloudClient({ baseUrl: fake.url }).send(PHONE, TOKEN, textMessage({ to: '16505551234', body: 'x' }));
  assert.equal(receiver.received.length, 0);
  await fake.flushWebhooks();
  assert.equal(receiver.received.length, 1);
});

test('requests are validated like Meta: code 100 in Meta error shape', async (t) => {
  const fake = await startFakeCloudApi();
  t.after(() => fake.close());
  const url = `${fake.url}/v23.0/${PHONE}/messages`;
  const cases: [string, unknown][] = [
    ['missing messaging_product', { to: '16505551234', type: 'text', text: { body: 'x' } }],
    ['missing to/recipient', { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } }],
    ['bad type', { messaging_product: 'whatsapp', to: '16505551234', type: 'fax', fax: {} }],
    ['missing text body', { messaging_product: 'whatsapp', to: '16505551234', type: 'text', text: {} }],
    [
      'template without language',
      { messaging_product: 'whatsapp', to: '16505551234', type: 'template', template: { name: 'x' } },
    ],
    [
      'four buttons',
      {
        messaging_product: 'whatsapp',
        to: '16505551234',
        type: 'interactive',
        interactive: { type: 'button', body: { text: 'q' }, action: { buttons: [1, 2, 3, 4] } },
      },
    ],
    ['bad phone', { messaging_product: 'whatsapp', to: 'not-a-number', type: 'text', text: { body: 'x' } }],
    ['not JSON', '{"messaging_product":'],
  ];
  for (const [label, body] of cases) {
    const r = await post(url, body);
    assert.equal(r.status, 400, label);
    assert.equal(r.json.error?.code, 100, label);
    assert.equal(r.json.error?.type, 'OAuthException', label);
    assert.match(String(r.json.error?.message), /^\(#100\) /, label);
    assert.ok((r.json.error?.error_data as { details?: string }).details, label);
    assert.ok(r.json.error?.fbtrace_id, label);
  }
  // Meta defaults a missing type to text.
  const ok = await post(url, { messaging_product: 'whatsapp', to: '16505551234', text: { body: 'x' } });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json.contacts, [{ input: '16505551234', wa_id: '16505551234' }]);
  assert.match(String((ok.json.messages as { id: string }[])[0]?.id), /^wamid\./);

  assert.equal(
    (await post(url, { messaging_product: 'whatsapp', to: '16505551234', text: { body: 'x' } }, {})).status,
    401,
  );
  assert.equal((await post(`${fake.url}/v23.0/${PHONE}/other`, {})).status, 400);
  assert.equal((await fetch(url)).status, 400);
  assert.equal(fake.counts().accepted, 1);
  assert.equal(fake.sent.length, 1);
  assert.equal(fake.counts().rejected, cases.length + 3);
});

test('`sent` is capped: the oldest records are dropped, the newest kept', async (t) => {
  const fake = await startFakeCloudApi({ sentCap: 10 });
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });
  const ids: string[] = [];
  for (let i = 0; i < 25; i++) {
    const r = await client.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: `${i}` }));
    if (r.ok) ids.push(r.messageId);
  }
  assert.ok(fake.sent.length <= 10 && fake.sent.length >= 9, `length ${fake.sent.length}`);
  assert.deepEqual(
    fake.sent.map((s) => s.messageId),
    ids.slice(-fake.sent.length),
  );
  assert.equal(fake.counts().accepted, 25);
});

test('close() returns promptly with a response still held back by latency', async () => {
  const fake = await startFakeCloudApi({ latencyMs: 10_000 });
  const client = createCloudClient({ baseUrl: fake.url, timeoutMs: 20_000 });
  const pending = client.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: 'x' }));
  while (fake.sent.length === 0) await new Promise((r) => setImmediate(r));
  // Counted, not timed: close() resolves while the held response is still pending, and that response then
  // never arrives (the connection was cut, not drained after the latency).
  let settled = false;
  void pending.then(() => (settled = true));
  await fake.close();
  assert.equal(settled, false, 'close() did not wait for the held response');
  const r = await pending;
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.httpStatus, 0);
  assert.equal(fake.counts().accepted, 1);
});
