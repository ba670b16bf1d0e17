import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Keyring } from '../lib/crypto.js';
import { randomToken, safeEqual } from '../lib/crypto.js';
import { readToken, signToken, type TokenClaims } from '../lib/link-tokens.js';

/** A form stays valid for two hours after it was rendered. */
export const FORM_TTL_MS = 2 * 3_600_000;
export const CSRF_COOKIE = 'optline_csrf';

export interface FormClaims extends TokenClaims {
  /** Which form: the hosted opt-in page or the preference page. */
  f: 'opt-in' | 'prefs';
  /** The text shown (its hash) and the topics offered: the POST records these, never what the client claims. */
  t: string | null;
  k: string[];
  /** The double-submit cookie value, absent in embed mode (a third-party frame may not keep cookies). */
  c?: string;
  /** Preference page: the person it was rendered for. */
  p?: string;
}

/**
 * CSRF protection, two layers: a signed token tied to this render (what was shown, for whom, until when) and,
 * outside embeds, a double-submit cookie whose value the token carries. isSameOriginPost() is the third.
 */
export function issueFormToken(
  keyring: Keyring,
  req: FastifyRequest,
  reply: FastifyReply,
  claims: Omit<FormClaims, 'j' | 'exp' | 'c'>,
  opts: { now: number; embed: boolean; secureCookie: boolean },
): string {
  let c: string | undefined;
  if (!opts.embed) {
    const existing = req.cookies[CSRF_COOKIE];
    c = existing && /^[A-Za-z0-9_-]{32}$/.test(existing) ? existing : randomToken(24);
    reply.setCookie(CSRF_COOKIE, c, {
      path: '/p/',
      httpOnly: true,
      sameSite: 'lax',
      secure: opts.secureCookie,
      maxAge: FORM_TTL_MS / 1000,
    });
  }
  return signToken(keyring, 'form', { ...claims, exp: opts.now + FORM_TTL_MS, ...(c ? { c } : {}) }).token;
}

export function checkFormToken(
  keyring: Keyring,
  req: FastifyRequest,
  token: unknown,
  expect: { f: FormClaims['f']; b: string; now: number },
): FormClaims | null {
  if (typeof token !== 'string') return null;
  const r = readToken<FormClaims>(keyring, 'form', token, expect.now);
  if (!r.ok || r.claims.f !== expect.f || r.claims.b !== expect.b || !Array.isArray(r.claims.k)) return null;
  if (r.claims.c !== undefined) {
    const cookie = req.cookies[CSRF_COOKIE];
    if (typeof cookie !== 'string' || !safeEqual(cookie, r.claims.c)) return null;
  }
  return r.claims;
}
