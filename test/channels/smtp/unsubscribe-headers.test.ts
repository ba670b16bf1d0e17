import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneClickUnsubscribeHeaders } from '../../../src/channels/smtp/unsubscribe-headers.js';

test('https URL alone gives the RFC 8058 pair', () => {
  assert.deepEqual(oneClickUnsubscribeHeaders('https://gw.example.com/u/tok123'), {
    'List-Unsubscribe': '<https://gw.example.com/u/tok123>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  });
});

test('mailto fallback added, with or without the scheme', () => {
  const expected = '<https://gw.example.com/u/t>, <mailto:unsub@acme.example>';
  assert.equal(
    oneClickUnsubscribeHeaders('https://gw.example.com/u/t', 'unsub@acme.example')['List-Unsubscribe'],
    expected,
  );
  assert.equal(
    oneClickUnsubscribeHeaders('https://gw.example.com/u/t', 'mailto:unsub@acme.example')['List-Unsubscribe'],
    expected,
  );
});

test('commas are escaped and unsafe characters cannot break out of the brackets', () => {
  assert.equal(
    oneClickUnsubscribeHeaders('https://gw.example.com/u?a=1,2')['List-Unsubscribe'],
    '<https://gw.example.com/u?a=1%2C2>',
  );
  // URL parsing percent-encodes spaces and brackets; CR/LF are stripped by the URL parser, never emitted.
  const v = oneClickUnsubscribeHeaders('https://gw.example.com/u?x=<a> b\r\nBcc: x')['List-Unsubscribe'];
  assert.doesNotMatch(v, /[\r\n ]|<a>/);
  assert.throws(() => oneClickUnsubscribeHeaders('https://gw.example.com/u', 'a b@example.com'), /mailto/);
  assert.throws(() => oneClickUnsubscribeHeaders('https://gw.example.com/u', 'x@y>, <https://evil'), /mailto/);
});

test('http refused except for loopback hosts', () => {
  assert.throws(() => oneClickUnsubscribeHeaders('http://gw.example.com/u/t'), /must use https/);
  assert.throws(() => oneClickUnsubscribeHeaders('http://127.evil.example/u'), /must use https/);
  assert.throws(() => oneClickUnsubscribeHeaders('ftp://gw.example.com/u'), /must use https/);
  assert.throws(() => oneClickUnsubscribeHeaders('/u/relative'), /absolute URL/);
  assert.equal(
    oneClickUnsubscribeHeaders('http://127.0.0.1:8080/u/t')['List-Unsubscribe'],
    '<http://127.0.0.1:8080/u/t>',
  );
  assert.equal(oneClickUnsubscribeHeaders('http://localhost/u')['List-Unsubscribe'], '<http://localhost/u>');
  assert.equal(oneClickUnsubscribeHeaders('http://[::1]:3000/u')['List-Unsubscribe'], '<http://[::1]:3000/u>');
});
