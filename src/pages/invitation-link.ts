import type { ServiceContext } from '../services/context.js';
import { readToken, type TokenClaims } from '../lib/link-tokens.js';
import { getInvitation, isTokenSpent, type Invitation } from '../storage/capture/invitation-store.js';

export interface InviteClaims extends TokenClaims {
  /** Invitation id. */
  i: string;
}

export type InviteCheck =
  { ok: true; invitation: Invitation; claims: InviteClaims } | { ok: false; reason: 'tampered' | 'expired' };

/**
 * An invitation link (email, or SMS in link mode) as the hosted page sees it: signed for this business, not
 * expired, not spent. Spent means a form was submitted through it: it works once.
 */
export async function checkInvitationLink(
  ctx: ServiceContext,
  businessId: string,
  token: string,
): Promise<InviteCheck> {
  const r = readToken<InviteClaims>(ctx.keyring, 'invite', token, ctx.clock.now());
  if (!r.ok) return r;
  if (r.claims.b !== businessId || typeof r.claims.i !== 'string') return { ok: false, reason: 'tampered' };
  const invitation = await getInvitation(ctx.database.db, businessId, r.claims.i);
  if (!invitation || invitation.tokenId !== r.claims.j) return { ok: false, reason: 'tampered' };
  if (await isTokenSpent(ctx.database.db, businessId, r.claims.j)) return { ok: false, reason: 'expired' };
  return { ok: true, invitation, claims: r.claims };
}
