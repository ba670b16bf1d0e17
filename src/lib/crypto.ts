import * as nodeCrypto from 'node:crypto';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes,
  sign as edSign,
  timingSafeEqual,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';

// One-shot hashing (Node ≥ 20.12) skips the Hash object: about a third of the cost for short inputs such as
// API keys, hashed on every authenticated request. Older Node falls back to createHash.
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string })
  .hash;

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
  /** The ledger's keys: keyed event and seal hashes, and the Ed25519 key that signs proof bundles. */
  ledger: LedgerKey;
}

/** How a ledger hash was computed is written in the hash itself: `k1:<hex>` is keyed; bare hex is the
 * unkeyed SHA-256 of events written before keyed hashes existed (they still verify as before). */
export const KEYED_HASH_PREFIX = 'k1:';

export interface LedgerKey {
  /** HMAC-SHA256 under the event key, as `k1:<hex>`: recomputing it needs the master key. */
  eventHash(canonical: string): string;
  /** HMAC-SHA256 under the seal key (hex), for the per-business seal chain. */
  sealHash(canonical: string): string;
  /** HMAC-SHA256 under the seal key of one sealed chain head, as 32 bytes (summed into the seal's digest). */
  leafMac(canonical: string): Buffer;
  /** Ed25519 signature (base64) of `data`. */
  sign(data: string): string;
  readonly publicKeyPem: string;
  /** The public key in JWK form (`{ kty: 'OKP', crv: 'Ed25519', x }`). */
  readonly publicKeyJwk: { kty: string; crv: string; x: string };
  /** First 16 hex digits of the SHA-256 of the raw public key: names the key a bundle was signed with. */
  readonly keyId: string;
}

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function createLedgerKey(masterKey: Buffer): LedgerKey {
  // HKDF (RFC 5869) per purpose: knowing one derived key says nothing about the master key or another.
  const hkdf = (info: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `optline:${info}`, 32));
  const eventKey = hkdf('ledger-event-hash:v1');
  const sealKey = hkdf('ledger-seal-hash:v1');
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, hkdf('ledger-signing:ed25519:v1')]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
  return {
    eventHash: (canonical) => `${KEYED_HASH_PREFIX}${createHmac('sha256', eventKey).update(canonical).digest('hex')}`,
    sealHash: (canonical) => createHmac('sha256', sealKey).update(canonical).digest('hex'),
    leafMac: (canonical) => createHmac('sha256', sealKey).update(`leaf:${canonical}`).digest(),
    sign: (data) => edSign(null, Buffer.from(data, 'utf8'), privateKey).toString('base64'),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
    keyId: ed25519KeyId(publicKey),
  };
}

/** The key id of an Ed25519 public key: the first 16 hex digits of the SHA-256 of its 32 raw bytes. */
export function ed25519KeyId(publicKey: KeyObject): string {
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  return sha256Hex(Buffer.from(x, 'base64url')).slice(0, 16);
}

/** Reads a PEM public key; null when it is not an Ed25519 public key. */
export function readEd25519PublicKey(pem: string): KeyObject | null {
  try {
    const k = createPublicKey(pem);
    return k.asymmetricKeyType === 'ed25519' ? k : null;
  } catch {
    return null;
  }
}

export function ed25519Verify(publicKey: KeyObject, data: string, signature: Buffer): boolean {
  return edVerify(null, Buffer.from(data, 'utf8'), publicKey, signature);
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
    ledger: createLedgerKey(masterKey),
  };
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
