import type { ServiceContext } from '../context.js';
import { readToken, signToken, type TokenCheck, type TokenClaims } from '../../lib/link-tokens.js';

/**
 * A preference link lives 30 days by default: long enough for a confirmation read late, short enough that a forwarded
 * one dies.
 */
export const PREFERENCE_LINK_TTL_MS = 30 * 24 * 3_600_000;

export interface PreferenceClaims extends TokenClaims {
  /** Person id. */
  p: string;
}

export interface PreferenceLink {
  token: string;
  /** Token id, kept as evidence on every change made through this link. */
  tokenId: string;
  /** "/p/prefs/<token>": for a template URL button whose base URL is fixed, the token alone is the parameter. */
  path: string;
  /** publicUrl + path when a public URL is given, else the path. */
  url: string;
  expiresAt: number;
}

/**
 * A signed link to the person's preference page (no login): HMAC over {businessId, personId, exp}. The worker
 * puts it in confirmations and template footers. After `expiresAt` it shows "expired", forwarded or not.
 */
export function preferenceLink(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  opts: { publicUrl?: string; ttlMs?: number } = {},
): PreferenceLink {
  const expiresAt = ctx.clock.now() + (opts.ttlMs ?? PREFERENCE_LINK_TTL_MS);
  const { token, id } = signToken(ctx.keyring, 'prefs', { b: businessId, p: personId, exp: expiresAt });
  const path = `/p/prefs/${token}`;
  return {
    token,
    tokenId: id,
    path,
    url: opts.publicUrl ? `${opts.publicUrl.replace(/\/$/, '')}${path}` : path,
    expiresAt,
  };
}

export function readPreferenceLink(ctx: ServiceContext, token: string): TokenCheck<PreferenceClaims> {
  const r = readToken<PreferenceClaims>(ctx.keyring, 'prefs', token, ctx.clock.now());
  if (r.ok && typeof r.claims.p !== 'string') return { ok: false, reason: 'tampered' };
  return r;
}
