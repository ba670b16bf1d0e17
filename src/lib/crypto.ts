import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// One-shot hashing (Node ≥ 20.12) skips the Hash object: about a third of the cost for short inputs such as
// API keys, hashed on every authenticated request. Older Node falls back to createHash.
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;

export function sha256Hex(data: string | Buffer): string {
  return oneShotHash ? oneShotHash('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

export function hmacHex(key: Buffer | string, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    // Compare against itself so the time taken does not depend on where the strings differ.
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/**
 * Keys derived from the one master key, each for one purpose, so a leak of one derived value says nothing
 * about the others.
 */
export interface Keyring {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** Keyed hash of a phone number, kept after erasure so the person stays suppressed. */
  phoneHash(e164: string): string;
  /** HMAC for signed links (email, preference page). */
  sign(data: string): string;
}

export function createKeyring(masterKey: Buffer): Keyring {
  if (masterKey.length < 32) throw new Error('master key must be at least 32 bytes');
  const derive = (label: string) => createHmac('sha256', masterKey).update(`optline:${label}`).digest();
  const encKey = derive('encryption:v1');
  const phoneKey = derive('phone-hash:v1');
  const signKey = derive('link-signing:v1');
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', encKey, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
    },
    decrypt(sealed) {
      const [v, iv, body, tag] = sealed.split('.');
      if (v !== 'v1' || !iv || body === undefined || !tag) throw new Error('unreadable sealed value');
      const d = createDecipheriv('aes-256-gcm', encKey, Buffer.from(iv, 'base64url'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
    },
    phoneHash: (e164) => hmacHex(phoneKey, e164),
    sign: (data) => createHmac('sha256', signKey).update(data).digest('base64url'),
  };
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
