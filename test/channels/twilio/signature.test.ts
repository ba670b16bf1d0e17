// Our X-Twilio-Signature code must agree with Twilio's own Node library, which is what Twilio documents
// and what every other validator copies. The `twilio` package is a dev dependency used only here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import twilio from 'twilio';
import { computeTwilioSignature, verifyTwilioRequest } from '../../../src/channels/twilio/signature.js';
import type { TwilioParams } from '../../../src/channels/twilio/signature.js';

const TOKEN = '12345abcdef67890fedcba0987654321';

const inbound: TwilioParams = {
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
  AccountSid: 'AC0123456789abcdef0123456789abcdef',
  From: 'whatsapp:+14155550100',
  To: 'whatsapp:+14155550199',
  Body: 'STOP',
  NumMedia: '0',
};

const paramSets: Array<{ name: string; url: string; params: TwilioParams }> = [
  { name: 'inbound WhatsApp message', url: 'https://gw.example.com/twilio/inbound', params: inbound },
  {
    name: 'unicode body and profile name',
    url: 'https://gw.example.com/twilio/inbound',
    params: { ...inbound, Body: 'Olá! 👋 ñ 日本語 «stop»', ProfileName: 'Zoë Ångström' },
  },
  {
    name: 'repeated keys (with a duplicate value)',
    url: 'https://gw.example.com/hook',
    params: { MediaUrl: ['https://m/b', 'https://m/a', 'https://m/b'], Body: 'x' },
  },
  {
    name: 'URL with query string and mixed-case keys',
    url: 'https://gw.example.com/hook?tenant=acme&lang=pt-BR',
    params: { b: '2', B: '1', _x: '', a: '&=?' },
  },
  { name: 'https with explicit :443', url: 'https://gw.example.com:443/hook', params: inbound },
  {
    name: 'http with non-default port',
    url: 'http://127.0.0.1:8080/hook?x=1',
    params: { Digits: '1', CallSid: 'CA1' },
  },
  { name: 'no params', url: 'https://gw.example.com/hook?only=query', params: {} },
];

for (const { name, url, params } of paramSets) {
  test(`computeTwilioSignature matches twilio.getExpectedTwilioSignature: ${name}`, () => {
    assert.equal(computeTwilioSignature(TOKEN, url, params), twilio.getExpectedTwilioSignature(TOKEN, url, params));
  });

  test(`verifyTwilioRequest accepts what twilio signs: ${name}`, () => {
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, params);
    assert.equal(twilio.validateRequest(TOKEN, signature, url, params), true);
    assert.equal(verifyTwilioRequest({ authToken: TOKEN, url, params, signature }), true);
  });
}

test('a published Twilio example vector verifies', () => {
  // From Twilio's signature-validation code samples.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = {
    CallSid: 'CA1234567890ABCDE',
    Caller: '+14158675309',
    Digits: '1234',
    From: '+14158675309',
    To: '+18005551212',
  };
  assert.equal(computeTwilioSignature('12345', url, params), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  assert.equal(
    verifyTwilioRequest({ authToken: '12345', url, params, signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' }),
    true,
  );
});

test('port and normalisation variants: we accept exactly what twilio.validateRequest accepts', () => {
  // Twilio signed `signedUrl`; our server reconstructed `receivedUrl`.
  const pairs: Array<[string, string, boolean]> = [
    ['https://gw.example.com/hook', 'https://gw.example.com:443/hook', true],
    ['https://gw.example.com:443/hook', 'https://gw.example.com/hook', true],
    ['http://gw.example.com/hook?a=1', 'http://gw.example.com:80/hook?a=1', true],
    ['http://gw.example.com:80/hook', 'http://gw.example.com/hook', true],
    ['https://gw.example.com/hook', 'https://gw.example.com:8443/hook', true], // twilio-node strips any port
    ['https://gw.example.com/hook?q=it%27s', "https://gw.example.com/hook?q=it's", true], // WHATWG re-encoding
    ['https://gw.example.com/hook', 'https://gw.example.com/hook2', false],
    ['https://gw.example.com/hook', 'http://gw.example.com/hook', false],
    ['https://gw.example.com/hook?a=1', 'https://gw.example.com/hook?a=2', false],
    ['https://gw.example.com/hook', 'https://evil.example.com/hook', false],
  ];
  for (const [signedUrl, receivedUrl, expected] of pairs) {
    const signature = twilio.getExpectedTwilioSignature(TOKEN, signedUrl, inbound);
    const theirs = twilio.validateRequest(TOKEN, signature, receivedUrl, inbound);
    const ours = verifyTwilioRequest({ authToken: TOKEN, url: receivedUrl, params: inbound, signature });
    assert.equal(theirs, expected, `twilio on ${signedUrl} -> ${receivedUrl}`);
    assert.equal(ours, expected, `ours on ${signedUrl} -> ${receivedUrl}`);
  }
});

test('tampering, missing and wrong credentials are refused', () => {
  const url = 'https://gw.example.com/twilio/inbound';
  const signature = computeTwilioSignature(TOKEN, url, inbound);
  const ok = (over: Partial<Parameters<typeof verifyTwilioRequest>[0]>) =>
    verifyTwilioRequest({ authToken: TOKEN, url, params: inbound, signature, ...over });

  assert.equal(ok({}), true, 'control: the untampered request verifies');
  assert.equal(ok({ params: { ...inbound, Body: 'START' } }), false, 'tampered value');
  assert.equal(ok({ params: { ...inbound, Extra: '1' } }), false, 'extra param');
  const { Body: _dropped, ...withoutBody } = inbound;
  assert.equal(ok({ params: withoutBody }), false, 'missing param');
  assert.equal(ok({ authToken: TOKEN.replace('1', '2') }), false, 'wrong token');
  assert.equal(ok({ signature: undefined }), false, 'no header');
  assert.equal(ok({ signature: '' }), false, 'empty header');
  assert.equal(ok({ signature: signature.slice(0, -2) }), false, 'truncated signature');
  assert.equal(ok({ url: 'not a url' }), false, 'unparseable URL');
  // An empty secret must never verify, even with a signature computed under that empty secret.
  assert.equal(
    verifyTwilioRequest({ authToken: '', url, params: inbound, signature: computeTwilioSignature('', url, inbound) }),
    false,
  );
});

// twilio 6.2 has no SHA-256 support, so the expected value is built by hand from the documented rule:
// the signed string is unchanged, only the key (the rule's SharedKey) and the hash change.
test('Webhook Rules variant: HMAC-SHA256 under the SharedKey named in the settings header', () => {
  const url = 'https://gw.example.com/twilio/inbound?rule=1';
  const sharedKey = 'shared-secret-for-rule';
  const data =
    url +
    Object.keys(inbound)
      .sort()
      .map((k) => k + String(inbound[k]))
      .join('');
  const expected = createHmac('sha256', sharedKey).update(data, 'utf8').digest('base64');
  assert.equal(computeTwilioSignature(sharedKey, url, inbound, 'sha256'), expected);

  const base = { authToken: TOKEN, url, params: inbound, signature: expected };
  const settings = 'key=KS0123,algorithm=HMAC_SHA256';
  const sharedKeys = { KS0123: sharedKey };
  assert.equal(verifyTwilioRequest({ ...base, signatureSettings: settings, sharedKeys }), true);
  assert.equal(
    verifyTwilioRequest({ ...base, signatureSettings: ' key = KS0123 , algorithm = hmac_sha256 ', sharedKeys }),
    true,
  );

  assert.equal(verifyTwilioRequest({ ...base, signatureSettings: settings }), false, 'no shared keys configured');
  assert.equal(
    verifyTwilioRequest({ ...base, signatureSettings: 'key=KSother,algorithm=HMAC_SHA256', sharedKeys }),
    false,
    'unknown key id',
  );
  assert.equal(
    verifyTwilioRequest({ ...base, signatureSettings: 'key=constructor,algorithm=HMAC_SHA256', sharedKeys }),
    false,
    'prototype key id',
  );
  assert.equal(
    verifyTwilioRequest({ ...base, signatureSettings: 'key=KS0123,algorithm=HMAC_SHA512', sharedKeys }),
    false,
    'unsupported algorithm',
  );
  assert.equal(verifyTwilioRequest({ ...base, signatureSettings: 'key=KS0123', sharedKeys }), false, 'no algorithm');
  assert.equal(
    verifyTwilioRequest({ ...base, params: { ...inbound, Body: 'x' }, signatureSettings: settings, sharedKeys }),
    false,
    'tampered',
  );
  assert.equal(
    verifyTwilioRequest(base),
    false,
    'sha256 signature without the header is checked as SHA-1 under the token',
  );
  // No downgrade: with the header present, a valid SHA-1 Auth Token signature is not enough.
  const sha1 = computeTwilioSignature(TOKEN, url, inbound);
  assert.equal(verifyTwilioRequest({ ...base, signature: sha1 }), true, 'control: SHA-1 verifies without the header');
  assert.equal(verifyTwilioRequest({ ...base, signature: sha1, signatureSettings: settings, sharedKeys }), false);
});

test('JSON body variant: URL-only signature plus bodySHA256, as twilio.validateRequestWithBody', () => {
  const body = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030","Note":"olá"}';
  const hash = createHash('sha256').update(body, 'utf8').digest('hex');
  const url = `https://gw.example.com/twilio/json?bodySHA256=${hash}`;
  const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});
  const input = { authToken: TOKEN, url, params: {}, signature, rawBody: body, contentType: 'application/json' };

  assert.equal(twilio.validateRequestWithBody(TOKEN, signature, url, body), true);
  assert.equal(verifyTwilioRequest(input), true);
  // Form params passed alongside are not part of a JSON request's signature.
  assert.equal(verifyTwilioRequest({ ...input, params: { Ignored: 'yes' } }), true);

  const tampered = body.replace('CA123', 'CA999');
  assert.equal(twilio.validateRequestWithBody(TOKEN, signature, url, tampered), false);
  assert.equal(verifyTwilioRequest({ ...input, rawBody: tampered }), false, 'tampered body');
  const { rawBody: _omit, ...noBody } = input;
  assert.equal(verifyTwilioRequest(noBody), false, 'raw body not supplied');
  const otherHash = createHash('sha256').update(tampered).digest('hex');
  const swappedUrl = url.replace(hash, otherHash);
  assert.equal(verifyTwilioRequest({ ...input, url: swappedUrl, rawBody: tampered }), false, 'hash swapped in URL');

  // A JSON body without bodySHA256 in the URL is covered by nothing: refuse it.
  const plainUrl = 'https://gw.example.com/twilio/json';
  const plainSig = computeTwilioSignature(TOKEN, plainUrl, {});
  assert.equal(verifyTwilioRequest({ ...input, url: plainUrl, signature: plainSig }), false);
  assert.equal(
    verifyTwilioRequest({ ...input, url: plainUrl, signature: plainSig, contentType: undefined }),
    true,
    'control: same signature as an empty form post',
  );
});
