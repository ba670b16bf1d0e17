import { checkEvidence } from '../../domain/consent/evidence.js';
import { normalisePhone } from '../../lib/phone.js';
import { newId } from '../../lib/ids.js';
import { getChannelAccount, type WhatsAppSettings } from '../../storage/business/channel-store.js';
import { getCaptureSettings } from '../../storage/capture/capture-settings-store.js';
import { insertOwnershipRequest } from '../../storage/capture/ownership-request-store.js';
import { markInvitationUsed, spendToken } from '../../storage/capture/invitation-store.js';
import type { Trx } from '../../storage/db.js';
import type { ServiceContext } from '../context.js';
import { recordOptInTx, checkOptInShape, type OptInInput, type OptInResult } from '../consent/record-opt-in.js';
import { resolvePersonRef } from '../consent/person-ref.js';
import { newOwnershipCode, ownershipCodeHash } from '../../lib/ownership-codes.js';

/** How long a person has to send the ownership code from WhatsApp. */
export const OWNERSHIP_CODE_TTL_MS = 24 * 3_600_000;

export interface WebOptInSubmission {
  textHash: string;
  /** The language of the text shown (kept in the evidence with the page's language). */
  textLanguage?: string;
  /** The topics the page offered (each a checkbox, unchecked by default). */
  offeredTopics: string[];
  /** The boxes the person checked; anything not offered is ignored. */
  checkedTopics: string[];
  phone: string;
  country: string | null;
  language: string;
  evidence: { ip: string; userAgent: string; pageUrl: string; formId: string };
  /** When the page was opened from an invitation link (already verified and not yet spent). */
  invitation?: { id: string; tokenId: string; channel: 'sms' | 'email'; phone: string | null; expiresAt: number };
}

export type WebOptInOutcome =
  | { kind: 'invalid'; errors: { topics?: 'none_checked'; phone?: 'missing' | 'invalid' } }
  | { kind: 'recorded'; result: OptInResult; topics: string[] }
  | {
      kind: 'ownership_check';
      code: string;
      phone: string;
      whatsappNumber: string;
      expiresAt: number;
      topics: string[];
    }
  | { kind: 'unavailable' }
  | { kind: 'link_used' };

/** The number people send the ownership code to, as digits (what wa.me wants), or null when none is set up. */
export async function businessWhatsAppNumber(
  ctx: ServiceContext,
  businessId: string,
  override: string | null,
): Promise<string | null> {
  const raw =
    override ??
    (await getChannelAccount<WhatsAppSettings>(ctx.database.db, ctx.keyring, businessId, 'whatsapp_cloud'))?.settings
      .displayPhoneNumber ??
    null;
  const digits = raw?.replace(/\D/g, '') ?? '';
  return digits.length >= 8 ? digits : null;
}

/**
 * A hosted-page submission. Nothing is recorded unless at least one box is checked and the number parses.
 * By default the opt-in then waits for proof that the number is the person's own (they send a code from it on
 * WhatsApp: redeem-ownership-code.ts); a business that turns the check off gets the opt-in recorded at once.
 * An SMS invitation link opened and submitted with the same number it was sent to is that proof already.
 */
export async function submitWebOptIn(
  ctx: ServiceContext,
  businessId: string,
  s: WebOptInSubmission,
): Promise<WebOptInOutcome> {
  const now = ctx.clock.now();
  const topics = s.offeredTopics.filter((k) => s.checkedTopics.includes(k));
  const errors: { topics?: 'none_checked'; phone?: 'missing' | 'invalid' } = {};
  if (topics.length === 0) errors.topics = 'none_checked';
  const parsed = s.phone.trim() === '' ? null : normalisePhone(s.phone, s.country ?? undefined);
  if (!parsed) errors.phone = 'missing';
  else if (!parsed.ok) errors.phone = 'invalid';
  if (errors.topics || errors.phone || !parsed?.ok) return { kind: 'invalid', errors };
  const phone = parsed.e164;

  const channel = s.invitation?.channel === 'email' ? 'email' : 'web';
  const evidence: Record<string, unknown> = {
    ...s.evidence,
    topicsOffered: s.offeredTopics,
    topicsChecked: topics,
    submittedAt: now,
    phoneTyped: s.phone.trim(),
    pageLanguage: s.language,
    textHash: s.textHash,
    ...(s.textLanguage ? { textLanguage: s.textLanguage } : {}),
    ...(s.country ? { countrySelected: s.country } : {}),
    ...(s.invitation
      ? { invitationId: s.invitation.id, tokenId: s.invitation.tokenId, invitationChannel: s.invitation.channel }
      : {}),
  };
  const optIn: OptInInput = {
    person: { phone },
    topics,
    channel,
    action: 'checked_box',
    textHash: s.textHash,
    evidence,
    actor: 'page:opt-in',
    language: s.language,
  };
  checkOptInShape(optIn, now);
  checkEvidence(evidence);

  const settings = await getCaptureSettings(ctx.database.db, businessId);
  const provenBySms = s.invitation?.channel === 'sms' && s.invitation.phone === phone;
  const spend = async (trx: Trx) => {
    if (!s.invitation) return true;
    if (!(await spendToken(trx, businessId, s.invitation.tokenId, s.invitation.expiresAt, now))) return false;
    await markInvitationUsed(trx, businessId, s.invitation.id, now, { phone });
    return true;
  };

  if (!settings.ownershipCheck || provenBySms) {
    if (provenBySms) evidence.ownershipCheck = 'sms_link';
    const ref = resolvePersonRef({ phone }, 'phone');
    const out = await ctx.database.transaction(async (trx) => {
      if (!(await spend(trx))) return null;
      return recordOptInTx(ctx, trx, businessId, optIn, ref, now);
    });
    return out ? { kind: 'recorded', result: out, topics } : { kind: 'link_used' };
  }

  const whatsappNumber = await businessWhatsAppNumber(ctx, businessId, settings.whatsappNumber);
  if (!whatsappNumber) return { kind: 'unavailable' };
  const code = newOwnershipCode();
  const expiresAt = now + OWNERSHIP_CODE_TTL_MS;
  const ok = await ctx.database.transaction(async (trx) => {
    if (!(await spend(trx))) return false;
    await insertOwnershipRequest(trx, {
      id: newId('own', now),
      businessId,
      codeHash: ownershipCodeHash(ctx.keyring, businessId, code),
      phone,
      topicKeys: topics,
      textHash: s.textHash,
      language: s.language,
      channel,
      evidence,
      createdAt: now,
      expiresAt,
    });
    return true;
  });
  return ok ? { kind: 'ownership_check', code, phone, whatsappNumber, expiresAt, topics } : { kind: 'link_used' };
}
