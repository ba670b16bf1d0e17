import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signMetaBody, verifyMetaSignature, verifyToken } from '../../../src/channels/whatsapp-cloud/signature.js';

const SECRET = 'app-secret-1';
const BODY = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');

test('signMetaBody is sha256= + lowercase hex HMAC-SHA256 of the raw bytes', () => {
  const expected = 'sha256=' + createHmac('sha256', SECRET).update(BODY).digest('hex');
  assert.equal(signMetaBody(BODY, SECRET), expected);
  assert.equal(signMetaBody(BODY.toString('utf8'), SECRET), expected);
  assert.match(signMetaBody(BODY, SECRET), /^sha256=[0-9a-f]{64}$/);
});

test('a correct signature verifies', () => {
  assert.equal(verifyMetaSignature(BODY, signMetaBody(BODY, SECRET), SECRET), true);
});

test('a tampered body fails', () => {
  const header = signMetaBody(BODY, SECRET);
  const tampered = Buffer.from(BODY.toString().replace('[]', '[{}]'));
  assert.equal(verifyMetaSignature(tampered, header, SECRET), false);
});

test('the wrong secret fails', () => {
  assert.equal(verifyMetaSignature(BODY, signMetaBody(BODY, 'other-secret'), SECRET), false);
});

test('missing or malformed headers fail closed', () => {
  const good = signMetaBody(BODY, SECRET);
  const hex = good.slice('sha256='.length);
  for (const header of [
    undefined,
    '',
    'sha256=',
    hex,
    `sha1=${hex}`,
    `sha256=${hex.slice(2)}`,
    `sha256=${hex}00`,
    `sha256=${'z'.repeat(64)}`,
    `sha256=${hex} extra`,
  ]) {
    assert.equal(verifyMetaSignature(BODY, header, SECRET), false, `header ${JSON.stringify(header)}`);
  }
  // Uppercase hex and surrounding whitespace are the same digest.
  assert.equal(verifyMetaSignature(BODY, `sha256=${hex.toUpperCase()}`, SECRET), true);
  assert.equal(verifyMetaSignature(BODY, ` ${good} `, SECRET), true);
});

test('an empty secret fails closed', () => {
  // An HMAC made with an empty key must never be accepted: anyone can make one.
  assert.equal(verifyMetaSignature(BODY, signMetaBody(BODY, ''), ''), false);
});

test('only the one secret given is tried: a signature by any other secret fails', () => {
  for (const s of ['shared-app-secret', 'tenant-b-secret'])
    assert.equal(verifyMetaSignature(BODY, signMetaBody(BODY, s), 'tenant-c-secret'), false, s);
  assert.equal(verifyMetaSignature(BODY, signMetaBody(BODY, 'tenant-c-secret'), 'tenant-c-secret'), true);
});

test('unicode-escaped bodies verify on the raw bytes, not on re-serialised JSON', () => {
  // Meta writes "é" as the six ASCII characters \u00e9.
  const raw = Buffer.from('{"text":{"body":"caf\\u00e9"}}', 'utf8');
  assert.ok(raw.toString('latin1').includes('\\u00e9'));
  const header = signMetaBody(raw, SECRET);
  assert.equal(verifyMetaSignature(raw, header, SECRET), true);
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8');
  assert.equal(reserialised.toString('utf8'), '{"text":{"body":"café"}}');
  assert.equal(verifyMetaSignature(reserialised, header, SECRET), false);
});

test('verifyToken compares the handshake token exactly', () => {
  assert.equal(verifyToken('my-verify-token', 'my-verify-token'), true);
  assert.equal(verifyToken('my-verify-token ', 'my-verify-token'), false);
  assert.equal(verifyToken('MY-VERIFY-TOKEN', 'my-verify-token'), false);
  assert.equal(verifyToken('my-verify', 'my-verify-token'), false);
  assert.equal(verifyToken(undefined, 'my-verify-token'), false);
  assert.equal(verifyToken('', 'my-verify-token'), false);
  // No configured token means nothing can match, not "anything matches".
  assert.equal(verifyToken('', ''), false);
});
