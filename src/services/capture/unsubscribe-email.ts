import { getBusiness, type Business } from '../../storage/business/business-store.js';
import { getInvitation, suppressEmail } from '../../storage/capture/invitation-store.js';
import type { ServiceContext } from '../context.js';
import { readToken, type TokenClaims } from '../../lib/link-tokens.js';
import { recordOptOut } from '../consent/record-opt-out.js';

export type UnsubscribeCheck =
  | { ok: true; business: Business; invitationId: string; tokenId: string }
  | { ok: false; reason: 'tampered' | 'expired' };

export async function checkUnsubscribeLink(ctx: ServiceContext, token: string): Promise<UnsubscribeCheck> {
  const r = readToken<TokenClaims & { i: string }>(ctx.keyring, 'unsub', token, ctx.clock.now());
  if (!r.ok) return r;
  const business = await getBusiness(ctx.database.db, r.claims.b);
  if (!business || typeof r.claims.i !== 'string') return { ok: false, reason: 'tampered' };
  return { ok: true, business, invitationId: r.claims.i, tokenId: r.claims.j };
}

/**
 * The one-click unsubscribe (RFC 8058 POST, or the button on the confirm page). The address gets no more
 * invitations; when the invitation is tied to a number (given by the business, or typed on the page it led
 * to), that person is opted out of every WhatsApp message of the business too. Repeating it changes nothing.
 */
export async function unsubscribeEmail(
  ctx: ServiceContext,
  link: { business: Business; invitationId: string; tokenId: string },
  evidence: { ip: string; userAgent: string; oneClick: boolean },
): Promise<{ optedOut: boolean; cancelledMessages: number }> {
  const now = ctx.clock.now();
  const businessId = link.business.id;
  const invitation = await getInvitation(ctx.database.db, businessId, link.invitationId);
  if (!invitation) return { optedOut: false, cancelledMessages: 0 };
  if (invitation.emailHash) await suppressEmail(ctx.database.db, businessId, invitation.emailHash, now);
  const person = invitation.personId
    ? { personId: invitation.personId }
    : invitation.phone
      ? { phone: invitation.phone }
      : null;
  if (!person) return { optedOut: false, cancelledMessages: 0 };
  const r = await recordOptOut(ctx, businessId, {
    person,
    scope: 'all',
    channel: 'email',
    action: 'clicked_link',
    evidence: {
      tokenId: link.tokenId,
      invitationId: invitation.id,
      ip: evidence.ip,
      userAgent: evidence.userAgent,
      oneClick: evidence.oneClick,
    },
    // No sourceRef on purpose: a click on an old email after a later re-opt-in must opt out again, not be
    // taken for a duplicate. A repeated click only appends an event that changes no state.
    actor: 'page:unsubscribe',
  });
  return { optedOut: true, cancelledMessages: r.cancelledMessages };
}
