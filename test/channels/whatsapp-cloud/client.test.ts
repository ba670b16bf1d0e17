import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCloudClient } from '../../../src/channels/whatsapp-cloud/client.js';
import type { SendResult } from '../../../src/channels/whatsapp-cloud/client.js';
import { startFakeCloudApi } from '../../../src/channels/whatsapp-cloud/fake-cloud-api.js';
import { templateMessage, textMessage } from '../../../src/channels/whatsapp-cloud/messages.js';
import { closedPort } from './helpers/receiver.js';

const PHONE = '106540352242922';
const TOKEN = 'EAAG-test-token';

function failed(r: SendResult): Extract<SendResult, { ok: false }> {
  assert.equal(r.ok, false, JSON.stringify(r));
  return r as Extract<SendResult, { ok: false }>;
}

test('a send the fake accepts returns the wamid and the contact', async (t) => {
  const fake = await startFakeCloudApi();
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });
  const r = await client.send(PHONE, TOKEN, textMessage({ to: '+16505551234', body: 'hello' }));
  assert.equal(r.ok, true, JSON.stringify(r));
  if (!r.ok) return;
  assert.match(r.messageId, /^wamid\.[A-Za-z0-9_-]+$/);
  assert.equal(r.waId, '16505551234');
  assert.equal(r.messageStatus, undefined);
  assert.equal(fake.sent.length, 1);
  assert.equal(fake.sent[0]?.messageId, r.messageId);
  assert.equal(fake.sent[0]?.phoneNumberId, PHONE);
  assert.deepEqual(fake.sent[0]?.body, textMessage({ to: '+16505551234', body: 'hello' }));

  const tpl = await client.send(
    PHONE,
    TOKEN,
    templateMessage({ recipient: 'US.1349', name: 'optin_confirm_v1', language: 'en_US' }),
  );
  assert.equal(tpl.ok && tpl.messageStatus, 'accepted');
  assert.equal(tpl.ok && tpl.userId, 'US.1349');
  assert.equal(tpl.ok && tpl.waId, undefined);
  assert.notEqual(tpl.ok && tpl.messageId, r.messageId);
  assert.deepEqual(fake.counts().byCode, {});
  assert.equal(fake.counts().accepted, 2);
});

test('above the per-number throughput the fake answers 130429, and the window slides', async (t) => {
  let clock = 1_000_000;
  const fake = await startFakeCloudApi({ throughputPerSecond: 3, now: () => clock });
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });
  const results = await Promise.all(
    Array.from({ length: 5 }, (_, i) => client.send(PHONE, TOKEN, textMessage({ to: `1650555000${i}`, body: 'x' }))),
  );
  assert.equal(results.filter((r) => r.ok).length, 3);
  const throttled = results.filter((r) => !r.ok).map(failed);
  assert.equal(throttled.length, 2);
  for (const f of throttled) {
    assert.equal(f.httpStatus, 429);
    assert.equal(f.code, 130429);
    assert.ok(f.fbtraceId);
    assert.deepEqual(
      [f.classification.kind, f.classification.retryable, f.classification.scope],
      ['throughput', true, 'number'],
    );
  }
  // Another phone number has its own budget.
  assert.equal((await client.send('999000111', TOKEN, textMessage({ to: '16505550000', body: 'x' }))).ok, true);
  clock += 999;
  assert.equal((await client.send(PHONE, TOKEN, textMessage({ to: '16505550000', body: 'x' }))).ok, false);
  clock += 2;
  assert.equal((await client.send(PHONE, TOKEN, textMessage({ to: '16505550000', body: 'x' }))).ok, true);
  assert.equal(fake.counts().byCode['130429'], 3);
});

test('above the pair limit only that recipient gets 131056', async (t) => {
  const fake = await startFakeCloudApi({ pairLimit: { max: 2, windowMs: 6000 } });
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });
  const send = (to: string) => client.send(PHONE, TOKEN, textMessage({ to, body: 'x' }));
  assert.equal((await send('16505551234')).ok, true);
  assert.equal((await send('+16505551234')).ok, true); // same person, with '+'
  const f = failed(await send('16505551234'));
  assert.equal(f.code, 131056);
  assert.deepEqual(
    [f.classification.kind, f.classification.retryable, f.classification.scope],
    ['pair_rate', true, 'recipient'],
  );
  assert.equal((await send('16505559999')).ok, true);
});

test('failNext fails exactly the next send to that recipient; failAlways until cleared', async (t) => {
  const fake = await startFakeCloudApi();
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });
  const send = (to: string) => client.send(PHONE, TOKEN, textMessage({ to, body: 'x' }));
  fake.failNext('+16505551234', 131047);
  assert.equal((await send('16505559999')).ok, true);
  const f = failed(await send('16505551234'));
  assert.deepEqual(
    [f.httpStatus, f.code, f.classification.kind, f.classification.retryable],
    [400, 131047, 'needs_template', false],
  );
  assert.ok(f.title.length > 0);
  assert.ok(f.details && f.details.length > 0);
  assert.equal((await send('16505551234')).ok, true);

  fake.failAlways('16505551234', 131026);
  assert.equal(failed(await send('16505551234')).classification.kind, 'unreachable');
  assert.equal(failed(await send('16505551234')).code, 131026);
  fake.clearFailures();
  assert.equal((await send('16505551234')).ok, true);
  assert.deepEqual(fake.counts().byCode, { '131047': 1, '131026': 2 });
  assert.equal(fake.counts().rejected, 3);
  assert.equal(fake.counts().accepted, 3);
});

test('an unknown token gets 401 code 190 (auth, not retryable)', async (t) => {
  const fake = await startFakeCloudApi({ acceptedTokens: ['good-token'] });
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });
  const f = failed(await client.send(PHONE, 'bad-token', textMessage({ to: '16505551234', body: 'x' })));
  assert.deepEqual(
    [f.httpStatus, f.code, f.classification.kind, f.classification.retryable],
    [401, 190, 'auth', false],
  );
  assert.equal((await client.send(PHONE, 'good-token', textMessage({ to: '16505551234', body: 'x' }))).ok, true);
  assert.equal(fake.sent.length, 1);
});

test('a timeout is a transient failure with httpStatus 0', async (t) => {
  const fake = await startFakeCloudApi({ latencyMs: 5000 });
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url, timeoutMs: 50 });
  const f = failed(await client.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: 'x' })));
  // The fake answers only after 5 s (its timer is cleared on close): a Timeout result is the client giving up
  // before any answer, whatever the machine's speed (no elapsed time is asserted).
  assert.deepEqual(
    [f.httpStatus, f.code, f.classification.kind, f.classification.retryable],
    [0, -1, 'transient', true],
  );
  assert.match(f.title, /Timeout/);
});

test('a network error (nothing listening) is a transient failure, not a throw', async () => {
  const port = await closedPort();
  const client = createCloudClient({ baseUrl: `http://127.0.0.1:${port}` });
  const f = failed(await client.send(PHONE, TOKEN, textMessage({ to: '16505551234', body: 'x' })));
  assert.deepEqual(
    [f.httpStatus, f.code, f.classification.kind, f.classification.retryable],
    [0, -1, 'transient', true],
  );
  assert.equal(f.title, 'Network error');
  assert.equal(f.details, 'ECONNREFUSED');
});

test('request shape, non-JSON error bodies and unrecognised success bodies', async (t) => {
  const seen: { url?: string; auth?: string; type?: string; body: string }[] = [];
  const replies: [number, string][] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body });
      const [status, text] = replies.shift() ?? [500, ''];
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = createCloudClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    version: 'v99.0',
  });
  const body = textMessage({ to: '16505551234', body: 'x' });

  replies.push([502, '<html>Bad Gateway</html>']);
  const gw = failed(await client.send(PHONE, TOKEN, body));
  assert.deepEqual(
    [gw.httpStatus, gw.code, gw.classification.kind, gw.classification.retryable],
    [502, -1, 'transient', true],
  );
  assert.equal(gw.details, '<html>Bad Gateway</html>');
  assert.deepEqual(seen[0], {
    url: `/v99.0/${PHONE}/messages`,
    auth: `Bearer ${TOKEN}`,
    type: 'application/json',
    body: JSON.stringify(body),
  });

  replies.push([400, 'nope']);
  const bad = failed(await client.send(PHONE, TOKEN, body));
  assert.deepEqual([bad.code, bad.classification.kind, bad.classification.retryable], [-1, 'permanent', false]);

  replies.push([
    400,
    JSON.stringify({
      error: {
        message: '(#131050) stopped',
        code: 131050,
        error_data: { details: 'User stopped marketing' },
        fbtrace_id: 'AbC',
      },
    }),
  ]);
  const stop = failed(await client.send(PHONE, TOKEN, body));
  assert.deepEqual(
    [stop.code, stop.title, stop.details, stop.fbtraceId, stop.classification.kind],
    [131050, '(#131050) stopped', 'User stopped marketing', 'AbC', 'marketing_stopped'],
  );

  // A 200 without a message id may still have been sent: report it, but never as retryable.
  replies.push([200, '{"messaging_product":"whatsapp"}']);
  const odd = failed(await client.send(PHONE, TOKEN, body));
  assert.equal(odd.httpStatus, 200);
  assert.equal(odd.classification.retryable, false);
});

test('many concurrent sends all succeed against the loopback fake', async (t) => {
  const fake = await startFakeCloudApi();
  t.after(() => fake.close());
  const client = createCloudClient({ baseUrl: fake.url });
  const total = 1000;
  let next = 0;
  let ok = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const r = await client.send(PHONE, TOKEN, textMessage({ to: `1650${String(i).padStart(7, '0')}`, body: 'x' }));
      if (r.ok) ok++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  assert.equal(ok, total);
  assert.equal(fake.counts().accepted, total);
  assert.equal(new Set(fake.sent.map((s) => s.messageId)).size, total);
});
