// The sink's small MIME parser is what the mailer tests rely on, so it gets its own checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { decodeEncodedWords, parseMessage, startSmtpSink } from '../../fakes/smtp-sink.js';

test('headers are unfolded and lower-cased; quoted-printable soft breaks and =XX decoded', () => {
  const raw = [
    'Subject: =?UTF-8?Q?Ol=C3=A1_mundo?=',
    ' =?UTF-8?B?4pyF?=',
    'List-Unsubscribe: <https://gw.example.com/u/abc>,',
    '\t<mailto:unsub@acme.example>',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Ol=C3=A1, this line is long enough that it was wrapped with a soft=',
    ' break; a=3Db.',
    '',
  ].join('\r\n');
  const m = parseMessage(raw);
  assert.equal(m.subject, 'Olá mundo✅');
  assert.equal(m.headers['list-unsubscribe'], '<https://gw.example.com/u/abc>,\t<mailto:unsub@acme.example>');
  assert.equal(m.text, 'Olá, this line is long enough that it was wrapped with a soft break; a=b.');
});

test('multipart: first text/plain part, base64 decoded', () => {
  const raw = [
    'Content-Type: multipart/alternative; boundary="--b1"',
    '',
    'preamble',
    '----b1',
    'Content-Type: text/html',
    '',
    '<p>x</p>',
    '----b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('Zoë ✅').toString('base64'),
    '----b1--',
    '',
  ].join('\r\n');
  assert.equal(parseMessage(raw).text, 'Zoë ✅');
});

test('decodeEncodedWords leaves plain text alone', () => {
  assert.equal(decodeEncodedWords('plain = text ?'), 'plain = text ?');
});

test('sink accepts a raw SMTP session; waitFor times out when nothing arrives', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  assert.equal(sink.host, '127.0.0.1');
  assert.equal(sink.url, `smtp://127.0.0.1:${sink.port}`);
  await assert.rejects(sink.waitFor(1, 50), /expected 1 message/);

  const lines = [
    'EHLO test',
    'MAIL FROM:<a@example.org>',
    'RCPT TO:<b@example.org>',
    'RCPT TO:<c@example.org>',
    'DATA',
    'Subject: raw\r\n\r\nhello\r\n.',
    'QUIT',
  ];
  const waitingForTwo = sink.waitFor(2, 300); // only one message will come
  const socket = connect(sink.port, '127.0.0.1');
  // Send the next command after each complete reply (a line with a space after the code; "250-" continues).
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\r\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 2);
      const next = /^\d{3} /.test(line) ? lines.shift() : undefined;
      if (next !== undefined) socket.write(next + '\r\n');
    }
  });
  await sink.waitFor(1, 2000);
  socket.destroy();
  await assert.rejects(waitingForTwo, /expected 2 message\(s\) within 300 ms, got 1/);
  assert.deepEqual(
    {
      from: sink.messages[0]?.from,
      to: sink.messages[0]?.to,
      subject: sink.messages[0]?.subject,
      text: sink.messages[0]?.text,
    },
    { from: 'a@example.org', to: ['b@example.org', 'c@example.org'], subject: 'raw', text: 'hello' },
  );
});
