// Meta webhook authenticity: X-Hub-Signature-256 = "sha256=" + hex(HMAC-SHA256(app secret, raw body bytes)).
// The HMAC must be computed over the bytes exactly as received: Meta escapes non-ASCII as \uXXXX, so
// re-serialising the parsed JSON produces different bytes and a signature that never matches.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sha256=';
const HEX_DIGEST = /^[0-9a-f]{64}$/i;

export function signMetaBody(rawBody: Buffer | string, appSecret: string): string {
  return PREFIX + createHmac('sha256', appSecret).update(rawBody).digest('hex');
}

/**
 * True when the header carries a valid HMAC of `rawBody` under `appSecret`: the secret of the app that owns the
 * body's phone numbers (services/whatsapp/webhook-owner.ts), never "any configured secret", so a secret one
 * tenant chose can never vouch for another tenant's numbers, and a refused POST costs one HMAC.
 * Fails closed: no header, a malformed header, an empty secret → false.
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (typeof header !== 'string') return false;
  const trimmed = header.trim();
  if (!trimmed.toLowerCase().startsWith(PREFIX)) return false;
  const hex = trimmed.slice(PREFIX.length);
  if (!HEX_DIGEST.test(hex)) return false;
  // An empty key is a configuration mistake; anyone could forge an HMAC with it.
  if (typeof appSecret !== 'string' || appSecret.length === 0) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/**
 * Constant-time comparison for the GET handshake's hub.verify_token. Both sides are hashed first so the
 * buffers handed to timingSafeEqual always have equal length and the token length does not leak.
 */
export function verifyToken(given: string | undefined, expected: string): boolean {
  if (typeof given !== 'string' || typeof expected !== 'string' || expected.length === 0) return false;
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
