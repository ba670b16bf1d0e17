import { stableJson } from '../domain/consent/model.js';
import { ed25519KeyId, ed25519Verify, readEd25519PublicKey, sha256Hex, type LedgerKey } from './crypto.js';

/**
 * A proof bundle is a JSON object signed with the server's Ed25519 ledger key. The signature covers the
 * bundle without its `signature` member, serialized as stable JSON: keys sorted by UTF-16 code units at every
 * level, no whitespace, strings and numbers as JSON.stringify writes them (domain/consent/model.ts stableJson).
 * docs/proofs.md shows the same check with node or openssl alone. Needs no database and no master key.
 */

export const SIGNATURE_ALG = 'Ed25519';

export interface BundleSignature {
  alg: typeof SIGNATURE_ALG;
  keyId: string;
  /** Base64 of the 64-byte signature. */
  value: string;
}

export function signedBytes(bundle: Record<string, unknown>): string {
  const { signature: _s, ...rest } = bundle;
  return stableJson(rest);
}

export function signBundle<T extends Record<string, unknown>>(
  ledger: LedgerKey,
  bundle: T,
): T & { signature: BundleSignature } {
  const signature: BundleSignature = {
    alg: SIGNATURE_ALG,
    keyId: ledger.keyId,
    value: ledger.sign(signedBytes(bundle)),
  };
  return { ...bundle, signature };
}

export interface BundleCheck {
  ok: boolean;
  /** Why it failed, one line; null when it holds. */
  reason: string | null;
  keyId: string | null;
  businessId: string | null;
  personId: string | null;
  events: number;
  generatedAt: string | null;
}

const fail = (reason: string, keyId: string | null = null): BundleCheck => ({
  ok: false,
  reason,
  keyId,
  businessId: null,
  personId: null,
  events: 0,
  generatedAt: null,
});

/**
 * Checks a bundle file's text against a PEM public key: the signature (strictly: one exact base64 form, the
 * key's id, no other member), then what a reader can recompute without the key: each event links to the one
 * before by its hash, and each kept evidence matches its SHA-256.
 */
export function verifyBundle(text: string, publicKeyPem: string): BundleCheck {
  const key = readEd25519PublicKey(publicKeyPem);
  if (!key) return fail('the public key is not an Ed25519 public key in PEM form');
  const keyId = ed25519KeyId(key);
  let bundle: unknown;
  try {
    bundle = JSON.parse(text);
  } catch {
    return fail('the bundle is not valid JSON', keyId);
  }
  if (!bundle || typeof bundle !== 'object' || Array.isArray(bundle))
    return fail('the bundle is not a JSON object', keyId);
  const b = bundle as Record<string, unknown>;
  const sig = b.signature as Record<string, unknown> | undefined;
  if (!sig || typeof sig !== 'object' || Array.isArray(sig)) return fail('the bundle has no signature', keyId);
  if (Object.keys(sig).sort().join(',') !== 'alg,keyId,value')
    return fail('the signature must hold exactly alg, keyId and value', keyId);
  if (sig.alg !== SIGNATURE_ALG) return fail(`the signature's algorithm is not ${SIGNATURE_ALG}`, keyId);
  if (sig.keyId !== keyId)
    return fail(`the bundle was signed with key ${String(sig.keyId)}, not with this public key (${keyId})`, keyId);
  const value = typeof sig.value === 'string' ? sig.value : '';
  const raw = Buffer.from(value, 'base64');
  // Base64 decoders forgive stray and padding bits; a signature has exactly one accepted spelling.
  if (raw.length !== 64 || raw.toString('base64') !== value)
    return fail('the signature is not 64 bytes of base64', keyId);
  if (!ed25519Verify(key, signedBytes(b), raw))
    return fail('the signature does not match the content: the bundle was changed after it was signed', keyId);

  const events = Array.isArray(b.events) ? (b.events as Record<string, unknown>[]) : [];
  let prev: unknown = null;
  for (const e of events) {
    if (e.prevHash !== prev) return fail(`event ${String(e.id)} does not link to the event before it`, keyId);
    if (e.evidence !== null && e.evidence !== undefined && sha256Hex(stableJson(e.evidence)) !== e.evidenceHash) {
      return fail(`the evidence of event ${String(e.id)} does not match its hash`, keyId);
    }
    prev = e.hash;
  }
  const business = b.business as { id?: unknown } | undefined;
  const person = b.person as { id?: unknown } | undefined;
  return {
    ok: true,
    reason: null,
    keyId,
    businessId: typeof business?.id === 'string' ? business.id : null,
    personId: typeof person?.id === 'string' ? person.id : null,
    events: events.length,
    generatedAt: typeof b.generatedAt === 'string' ? b.generatedAt : null,
  };
}
