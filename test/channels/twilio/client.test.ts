import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTwilioClient } from '../../../src/channels/twilio/client.js';
import { startFakeTwilioApi } from '../../../src/channels/twilio/fake-twilio-api.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'test-auth-token';
const FROM = 'whatsapp:+14155238886';

test('201: message accepted, recorded by the fake with Twilio-shaped JSON', async (t) => {
  const api = await startFakeTwilioApi({ accountSid: ACCOUNT, authToken: TOKEN });
  t.after(() => api.close());
  const client = createTwilioClient({ baseUrl: api.url, accountSid: ACCOUNT, authToken: TOKEN });

  const r = await client.sendMessage({ to: 'whatsapp:+5511999990000', from: FROM, body: 'Olá & bem-vindo 👋' });
  assert.equal(r.ok, true);
  assert.ok(r.ok);
  assert.match(r.sid, /^SM[0-9a-f]{32}$/);
  assert.equal(r.status, 'queued');
  assert.equal(api.messages.length, 1);
  assert.deepEqual(
    { ...api.messages[0], at: undefined },
    { to: 'whatsapp:+5511999990000', from: FROM, body: 'Olá & bem-vindo 👋', sid: r.sid, at: undefined },
  );
  assert.ok(api.messages[0]?.at instanceof Date);

  const viaService = await client.sendMessage({ to: '+5511999990000', messagingServiceSid: 'MG1', body: 'hi' });
  assert.ok(viaService.ok);
  assert.equal(viaService.status, 'accepted');
  assert.equal(api.messages[1]?.messagingServiceSid, 'MG1');
});

test('21610 after block(): opted_out, never retryable; applies across the whatsapp: prefix', async (t) => {
  const api = await startFakeTwilioApi({ accountSid: ACCOUNT, authToken: TOKEN });
  t.after(() => api.close());
  const client = createTwilioClient({ baseUrl: api.url, accountSid: ACCOUNT, authToken: TOKEN });

  assert.equal((await client.sendMessage({ to: '+5511999990000', from: FROM, body: 'before' })).ok, true);
  api.block('+5511999990000');
  const r = await client.sendMessage({ to: 'whatsapp:+5511999990000', from: FROM, body: 'after' });
  assert.deepEqual(r, {
    ok: false,
    httpStatus: 400,
    code: 21610,
    message: 'Attempt to send to unsubscribed recipient',
    retryable: false,
    kind: 'opted_out',
  });
  assert.equal(api.messages.length, 1, 'the blocked message was not recorded as sent');
  assert.equal((await client.sendMessage({ to: '+5511999990001', from: FROM, body: 'other' })).ok, true);
});

test('bad credentials: 401 / 20003 -> auth', async (t) => {
  const api = await startFakeTwilioApi({ accountSid: ACCOUNT, authToken: TOKEN });
  t.after(() => api.close());
  const client = createTwilioClient({ baseUrl: api.url, accountSid: ACCOUNT, authToken: 'wrong' });
  const r = await client.sendMessage({ to: '+5511999990000', from: FROM, body: 'x' });
  assert.ok(!r.ok);
  assert.equal(r.httpStatus, 401);
  assert.equal(r.code, 20003);
  assert.equal(r.kind, 'auth');
  assert.equal(r.retryable, false);
  assert.equal(api.messages.length, 0);
});

test('failNext: 5xx transient and 429 rate_limited are retryable, invalid numbers are not; one-shot', async (t) => {
  const api = await startFakeTwilioApi({ accountSid: ACCOUNT, authToken: TOKEN });
  t.after(() => api.close());
  const client = createTwilioClient({ baseUrl: api.url, accountSid: ACCOUNT, authToken: TOKEN });
  const to = '+5511999990000';
  api.failNext(to, 503, 20500);
  api.failNext(to, 429, 20429);
  api.failNext(to, 400, 21211);
  api.failNext(to, 400, 21614);
  api.failNext(to, 400, 63999);

  const expected = [
    { httpStatus: 503, code: 20500, kind: 'transient', retryable: true },
    { httpStatus: 429, code: 20429, kind: 'rate_limited', retryable: true },
    { httpStatus: 400, code: 21211, kind: 'invalid_number', retryable: false },
    { httpStatus: 400, code: 21614, kind: 'invalid_number', retryable: false },
    { httpStatus: 400, code: 63999, kind: 'permanent', retryable: false },
  ];
  for (const e of expected) {
    const r = await client.sendMessage({ to, from: FROM, body: 'x' });
    assert.ok(!r.ok, `expected failure ${e.code}`);
    assert.deepEqual({ httpStatus: r.httpStatus, code: r.code, kind: r.kind, retryable: r.retryable }, e);
  }
  assert.equal((await client.sendMessage({ to, from: FROM, body: 'x' })).ok, true, 'failures were one-shot');
});

test('missing To / Body / From answered as Twilio does', async (t) => {
  const api = await startFakeTwilioApi({ accountSid: ACCOUNT, authToken: TOKEN });
  t.after(() => api.close());
  const client = createTwilioClient({ baseUrl: api.url, accountSid: ACCOUNT, authToken: TOKEN });
  const noTo = await client.sendMessage({ to: '', from: FROM, body: 'x' });
  const noBody = await client.sendMessage({ to: '+5511999990000', from: FROM, body: '' });
  const noFrom = await client.sendMessage({ to: '+5511999990000', body: 'x' });
  assert.ok(!noTo.ok && noTo.code === 21604 && noTo.httpStatus === 400 && noTo.kind === 'permanent');
  assert.ok(!noBody.ok && noBody.code === 21602 && noBody.httpStatus === 400);
  assert.ok(!noFrom.ok && noFrom.code === 21603 && !noFrom.retryable, 'refused locally, not retried');
});

test('closed port: transient, retryable, httpStatus 0, no throw', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));

  const client = createTwilioClient({ baseUrl: `http://127.0.0.1:${port}`, accountSid: ACCOUNT, authToken: TOKEN });
  const r = await client.sendMessage({ to: '+5511999990000', from: FROM, body: 'x' });
  assert.ok(!r.ok);
  assert.equal(r.kind, 'transient');
  assert.equal(r.retryable, true);
  assert.equal(r.httpStatus, 0);
  assert.match(r.message, /ECONNREFUSED/);
});

test('slow API beyond timeoutMs: transient', async (t) => {
  // An API that holds every request until the test ends: the client's timeout is the only way out, however
  // slow the machine (nothing here races two timers).
  let received = 0;
  const server = createServer(() => {
    received++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { port } = server.address() as AddressInfo;
  const client = createTwilioClient({
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid: ACCOUNT,
    authToken: TOKEN,
    timeoutMs: 50,
  });
  const r = await client.sendMessage({ to: '+5511999990000', from: FROM, body: 'x' });
  assert.ok(!r.ok);
  assert.equal(r.kind, 'transient');
  assert.match(r.message, /timed out/);
  // On a slow machine the timeout may even come before the request arrives; either way it was never answered.
  assert.ok(received <= 1, 'sent once, not retried by the client');
});

test('2xx without a sid is not retried (Twilio may have sent it)', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(201, { 'content-type': 'text/html' });
    res.end('<html>proxy page</html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  const client = createTwilioClient({ baseUrl: `http://127.0.0.1:${port}`, accountSid: ACCOUNT, authToken: TOKEN });
  const r = await client.sendMessage({ to: '+5511999990000', from: FROM, body: 'x' });
  assert.ok(!r.ok);
  assert.equal(r.retryable, false);
  assert.equal(r.httpStatus, 201);
});

test('request shape: form-encoded fields, basic auth, Twilio path', async (t) => {
  let seen: { method?: string; url?: string; auth?: string; type?: string; body: string } = { body: '' };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen = {
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body,
      };
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"sid":"SMx","status":"queued"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  const client = createTwilioClient({ baseUrl: `http://127.0.0.1:${port}/`, accountSid: ACCOUNT, authToken: TOKEN });
  const r = await client.sendMessage({ to: 'whatsapp:+5511999990000', from: FROM, body: 'a&b=c ü' });
  assert.deepEqual(r, { ok: true, sid: 'SMx', status: 'queued' });
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`);
  assert.equal(seen.auth, 'Basic ' + Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64'));
  assert.equal(seen.type, 'application/x-www-form-urlencoded');
  const form = new URLSearchParams(seen.body);
  assert.equal(form.get('To'), 'whatsapp:+5511999990000');
  assert.equal(form.get('From'), FROM);
  assert.equal(form.get('Body'), 'a&b=c ü');
  assert.equal(form.has('MessagingServiceSid'), false);
});
