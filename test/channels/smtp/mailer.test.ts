import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createMailer, smtpOptionsFromUrl } from '../../../src/channels/smtp/mailer.js';
import { oneClickUnsubscribeHeaders } from '../../../src/channels/smtp/unsubscribe-headers.js';
import { startSmtpSink } from '../../fakes/smtp-sink.js';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('mail reaches the sink with List-Unsubscribe headers, unicode subject and text intact', async (t) => {
  const sink = await startSmtpSink();
  const mailer = createMailer({ url: sink.url, from: 'Acme Alerts <alerts@acme.example>' });
  t.after(async () => {
    mailer.close();
    await sink.close();
  });

  const text =
    'Olá Zoë! Confirme sua inscrição: https://gw.example.com/confirm?t=abc&x=1 — obrigado. '.repeat(3) + 'Fim.';
  const r = await mailer.send({
    to: 'zoe@example.org',
    subject: 'Confirmação de inscrição ✅ — Acme',
    text,
    headers: oneClickUnsubscribeHeaders('https://gw.example.com/u/abc?list=news', 'unsub@acme.example'),
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.match(r.messageId, /^<.+@.+>$/);

  await sink.waitFor(1);
  const m = sink.messages[0];
  assert.ok(m);
  assert.equal(m.from, 'alerts@acme.example');
  assert.deepEqual(m.to, ['zoe@example.org']);
  assert.equal(m.subject, 'Confirmação de inscrição ✅ — Acme');
  assert.equal(m.text, text);
  assert.equal(m.headers['list-unsubscribe'], '<https://gw.example.com/u/abc?list=news>, <mailto:unsub@acme.example>');
  assert.equal(m.headers['list-unsubscribe-post'], 'List-Unsubscribe=One-Click');
  assert.equal(m.headers['message-id'], r.messageId);
  // The long non-ASCII line went over the wire encoded, so the comparison above exercised the decoder.
  assert.match(m.headers['content-transfer-encoding'] ?? '', /quoted-printable|base64/);
});

test('html alternative: the sink still finds the text part; several sends in a row', async (t) => {
  const sink = await startSmtpSink();
  const mailer = createMailer({ url: sink.url, from: 'alerts@acme.example' });
  t.after(async () => {
    mailer.close();
    await sink.close();
  });
  for (let i = 0; i < 3; i++) {
    const r = await mailer.send({
      to: `u${i}@example.org`,
      subject: `n${i}`,
      text: `plain ${i}`,
      html: `<p>html ${i}</p>`,
    });
    assert.ok(r.ok);
  }
  await sink.waitFor(3);
  assert.deepEqual(
    sink.messages.map((m) => m.text),
    ['plain 0', 'plain 1', 'plain 2'],
  );
  assert.match(sink.messages[0]?.headers['content-type'] ?? '', /^multipart\/alternative/);
  assert.match(sink.messages[0]?.raw ?? '', /<p>html 0<\/p>/);
});

test('header injection through a header value does not add headers', async (t) => {
  const sink = await startSmtpSink();
  const mailer = createMailer({ url: sink.url, from: 'alerts@acme.example' });
  t.after(async () => {
    mailer.close();
    await sink.close();
  });
  const r = await mailer.send({
    to: 'a@example.org',
    subject: 'hi\r\nBcc: victim@example.org',
    text: 'x',
    headers: { 'X-Tag': 'a\r\nX-Evil: 1' },
  });
  assert.ok(r.ok);
  await sink.waitFor(1);
  assert.equal(sink.messages[0]?.headers['bcc'], undefined);
  assert.equal(sink.messages[0]?.headers['x-evil'], undefined);
  assert.deepEqual(sink.messages[0]?.to, ['a@example.org']);
});

test('connection refused: ok:false, retryable, no throw; verify() false', async () => {
  const port = await closedPort();
  const mailer = createMailer({ url: `smtp://127.0.0.1:${port}`, from: 'alerts@acme.example' });
  try {
    const r = await mailer.send({ to: 'a@example.org', subject: 's', text: 't' });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.retryable, true);
    assert.match(r.message, /ECONNREFUSED|connect/i);
    assert.equal(await mailer.verify(), false);
  } finally {
    mailer.close();
  }
});

test('verify() is true against a live sink', async (t) => {
  const sink = await startSmtpSink();
  const mailer = createMailer({ url: sink.url, from: 'alerts@acme.example' });
  t.after(async () => {
    mailer.close();
    await sink.close();
  });
  assert.equal(await mailer.verify(), true);
});

test('SMTP 4xx replies are retryable, 5xx are not', async (t) => {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 200,
    onRcptTo(address, _session, cb) {
      const err = new Error(
        address.address.startsWith('busy') ? 'Mailbox busy, try later' : 'No such user',
      ) as Error & {
        responseCode: number;
      };
      err.responseCode = address.address.startsWith('busy') ? 451 : 550;
      cb(err);
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.server.address() as AddressInfo;
  const mailer = createMailer({ url: `smtp://127.0.0.1:${port}`, from: 'alerts@acme.example' });
  t.after(async () => {
    mailer.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const busy = await mailer.send({ to: 'busy@example.org', subject: 's', text: 't' });
  assert.ok(!busy.ok);
  assert.equal(busy.retryable, true);
  assert.match(busy.message, /451/);

  const gone = await mailer.send({ to: 'gone@example.org', subject: 's', text: 't' });
  assert.ok(!gone.ok);
  assert.equal(gone.retryable, false);
  assert.match(gone.message, /550/);
});

test('smtp URL parsing: loopback skips STARTTLS, remote does not, smtps is implicit TLS, credentials decoded', () => {
  assert.equal(smtpOptionsFromUrl('smtp://127.0.0.1:2525').ignoreTLS, true);
  assert.equal(smtpOptionsFromUrl('smtp://localhost:2525').ignoreTLS, true);
  assert.equal(smtpOptionsFromUrl('smtp://[::1]:2525').ignoreTLS, true);
  const remote = smtpOptionsFromUrl('smtp://u%40x:p%3Aw@mail.example.com');
  assert.equal(remote.ignoreTLS, false);
  assert.equal(remote.port, 587);
  assert.deepEqual(remote.auth, { user: 'u@x', pass: 'p:w' });
  const tls = smtpOptionsFromUrl('smtps://mail.example.com');
  assert.equal(tls.secure, true);
  assert.equal(tls.port, 465);
  assert.equal(tls.ignoreTLS, false);
  assert.throws(() => smtpOptionsFromUrl('http://mail.example.com'), /smtp:\/\/ or smtps:\/\//);
  assert.throws(() => createMailer({ from: 'a@b.c' }), /url or transport/);
});
