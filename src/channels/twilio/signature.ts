// X-Twilio-Signature: compute and verify.
//
// Twilio signs   url + (for each POST param, keys sorted: key + value)   with HMAC (SHA-1 under the
// account Auth Token by default; a Webhook Rule may switch to a SharedKey and HMAC-SHA256) and sends the
// base64 digest. The string signed is the same in both cases. We reproduce twilio-node's computation
// exactly (tests prove it against the library), including its handling of repeated keys.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { urlCandidates } from './url-variants.js';

export type TwilioParams = Record<string, string | string[]>;
export type SignatureAlgorithm = 'sha1' | 'sha256';

/**
 * Base64 HMAC over `url` followed by every param as key+value, keys sorted. A repeated key contributes
 * each distinct value, sorted (twilio-node and twilio-python both de-duplicate identical values).
 */
export function computeTwilioSignature(
  key: string,
  url: string,
  params: TwilioParams,
  algorithm: SignatureAlgorithm = 'sha1',
): string {
  let data = url;
  // Default sort (UTF-16 code units) on purpose: it is what twilio-node uses.
  for (const name of Object.keys(params).sort()) {
    const raw = params[name];
    const values = Array.isArray(raw) ? [...new Set(raw)].sort() : [raw];
    for (const v of values) data += name + String(v);
  }
  return createHmac(algorithm, key).update(Buffer.from(data, 'utf8')).digest('base64');
}

export interface VerifyTwilioInput {
  authToken: string;
  /** The public URL Twilio requested, query string included (what Twilio was configured with). */
  url: string;
  /** Parsed form-urlencoded body; ignored for JSON bodies (those sign the URL only). */
  params: TwilioParams;
  /** X-Twilio-Signature header. */
  signature: string | undefined;
  /** Raw request body; required when the URL carries `bodySHA256`. */
  rawBody?: string;
  contentType?: string;
  /** X-Twilio-Webhooks-Signature-Settings header, e.g. "key=KS123,algorithm=HMAC_SHA256". */
  signatureSettings?: string;
  /** Webhook Rule key id -> SharedKey secret. */
  sharedKeys?: Record<string, string>;
}

const ALGORITHMS: Record<string, SignatureAlgorithm> = { HMAC_SHA1: 'sha1', HMAC_SHA256: 'sha256' };

/** Which secret and hash to verify with; null when the settings header cannot be honoured. */
function resolveKey(input: VerifyTwilioInput): { key: string; algorithm: SignatureAlgorithm } | null {
  const settings = input.signatureSettings?.trim();
  if (!settings) return { key: input.authToken, algorithm: 'sha1' };
  const fields = new Map<string, string>();
  for (const part of settings.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const id = fields.get('key');
  const algorithm = ALGORITHMS[(fields.get('algorithm') ?? '').toUpperCase()];
  // Own properties only, so an id like "constructor" cannot pick up something from Object.prototype.
  const keys = input.sharedKeys;
  if (!id || !algorithm || !keys || !Object.hasOwn(keys, id)) return null;
  const key = keys[id];
  return typeof key === 'string' ? { key, algorithm } : null;
}

// Constant time for equal lengths; the length of a digest is fixed by the algorithm, so not secret.
function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function bodyHashParam(url: string): string | null | undefined {
  try {
    return new URL(url).searchParams.get('bodySHA256');
  } catch {
    return undefined; // unparseable URL
  }
}

/**
 * True only when the request provably comes from Twilio. Fails closed: a missing signature, empty
 * secret, unknown rule key, unsupported algorithm, JSON body without `bodySHA256`, or any mismatch
 * gives false. Never throws.
 */
export function verifyTwilioRequest(input: VerifyTwilioInput): boolean {
  try {
    const { signature } = input;
    if (typeof signature !== 'string' || signature === '') return false;
    const resolved = resolveKey(input);
    // An empty key would let anyone compute a valid signature.
    if (!resolved || resolved.key === '') return false;

    const bodyHash = bodyHashParam(input.url);
    if (bodyHash === undefined) return false;
    let params: TwilioParams = input.params;
    let bodyOk = true;
    if (bodyHash !== null) {
      // JSON variant: the signature covers the URL (which carries the body hash), the hash covers the body.
      if (typeof input.rawBody !== 'string') return false;
      const actual = createHash('sha256').update(Buffer.from(input.rawBody, 'utf8')).digest('hex');
      bodyOk = safeEqual(bodyHash.toLowerCase(), actual);
      params = {};
    } else if (/^\s*application\/json\b/i.test(input.contentType ?? '')) {
      return false; // a JSON body with no body hash is not covered by any signature
    }

    // Check every candidate without stopping early, so timing says nothing about which one matched.
    let sigOk = false;
    for (const candidate of urlCandidates(input.url)) {
      const expected = computeTwilioSignature(resolved.key, candidate, params, resolved.algorithm);
      if (safeEqual(signature, expected)) sigOk = true;
    }
    return sigOk && bodyOk;
  } catch {
    return false;
  }
}
