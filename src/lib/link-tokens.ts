import type { Keyring } from './crypto.js';
import { randomToken, safeEqual } from './crypto.js';

/**
 * Signed tokens for links and forms: `<payload>.<signature>`, the payload base64url JSON, the signature
 * keyring.sign over the kind and the payload. The kind is inside what is signed, so a token made for one
 * purpose (a preference link) is never accepted for another (an invitation).
 *
 * Not encrypted: a payload holds ids and times only, never a phone number or an address.
 */
export type TokenKind = 'form' | 'invite' | 'unsub' | 'prefs';

export interface TokenClaims {
  /** Business id. */
  b: string;
  /** Token id: recorded as evidence, spent in used_tokens when a link is single-use. */
  j: string;
  /** Expiry, epoch ms. */
  exp: number;
  [k: string]: unknown;
}

export type TokenCheck<T> = { ok: true; claims: T } | { ok: false; reason: 'tampered' | 'expired' };

const PREFIX = 'optline-link:v1';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{10,2000}\.[A-Za-z0-9_-]{43}$/;

const signature = (keyring: Keyring, kind: TokenKind, payload: string) => keyring.sign(`${PREFIX}:${kind}:${payload}`);

export function newTokenId(): string {
  return randomToken(12);
}

export function signToken<T extends Omit<TokenClaims, 'j'> & { j?: string }>(
  keyring: Keyring,
  kind: TokenKind,
  claims: T,
): { token: string; id: string } {
  const id = claims.j ?? newTokenId();
  const payload = Buffer.from(JSON.stringify({ ...claims, j: id }), 'utf8').toString('base64url');
  return { token: `${payload}.${signature(keyring, kind, payload)}`, id };
}

/** Checks signature first (a tampered token says nothing about its expiry), then expiry. Never throws. */
export function readToken<T extends TokenClaims = TokenClaims>(
  keyring: Keyring,
  kind: TokenKind,
  token: string,
  now: number,
): TokenCheck<T> {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return { ok: false, reason: 'tampered' };
  const [payload, sig] = token.split('.') as [string, string];
  if (!safeEqual(sig, signature(keyring, kind, payload))) return { ok: false, reason: 'tampered' };
  let claims: T;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
  } catch {
    return { ok: false, reason: 'tampered' };
  }
  if (typeof claims?.b !== 'string' || typeof claims.j !== 'string' || typeof claims.exp !== 'number')
    return { ok: false, reason: 'tampered' };
  if (claims.exp <= now) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
