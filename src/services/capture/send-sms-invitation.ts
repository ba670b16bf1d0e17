import { fail } from '../../domain/errors.js';
import { newId } from '../../lib/ids.js';
import { getChannelAccount } from '../../storage/business/channel-store.js';
import { findPerson } from '../../storage/consent/people-store.js';
import { insertInvitation, setInvitationSent, type InvitationMode } from '../../storage/capture/invitation-store.js';
import { outbound, type ServiceContext } from '../context.js';
import type { TwilioSecrets, TwilioSettings } from './configure-channels.js';
import { captureLanguage, captureText } from '../../domain/capture/texts.js';
import { checkInvitation, refuseIfOptedOut } from './invitation-checks.js';
import { newTokenId, signToken } from '../../lib/link-tokens.js';
import { resolvePersonRef, type PersonRefInput } from '../consent/person-ref.js';
import { recordOptOut } from '../consent/record-opt-out.js';

/**
 * The SMS keyword that accepts an SMS invitation. Two words on purpose: a bare YES is Twilio's own opt-in
 * keyword (it would also trigger Twilio's auto-reply) and the everyday answer to any question; "YES WA" says
 * what is agreed to (WhatsApp) and matches nothing else. Case, spacing and punctuation are ignored.
 */
export const SMS_ACCEPT_KEYWORD = 'YES WA';

export interface SmsInvitationInput {
  person: PersonRefInput;
  topics: string[];
  textHash: string;
  mode: InvitationMode;
}

export interface SmsInvitationResult {
  invitationId: string;
  messageSid: string;
  mode: InvitationMode;
  body: string;
  expiresAt: number;
}

/**
 * Sends an invitation by SMS through the business's Twilio account: the registered opt-in text (which names the
 * business, WhatsApp, the message types and how to stop), then either "Reply YES WA to agree" or a signed link to
 * the hosted page. Nothing is recorded as consent here: only the person's reply or form does that.
 */
export async function sendSmsInvitation(
  ctx: ServiceContext,
  businessId: string,
  input: SmsInvitationInput,
  opts: { publicUrl: string; ttlMs: number },
): Promise<SmsInvitationResult> {
  const now = ctx.clock.now();
  const db = ctx.database.db;
  const { business, text } = await checkInvitation(db, businessId, input.topics, input.textHash);
  let phone =
    input.person.phone !== undefined || input.person.waId !== undefined
      ? (resolvePersonRef(input.person, 'person.phone').key.phone ?? null)
      : null;
  let personId: string | null = null;
  if (!phone && input.person.personId) {
    const p = await findPerson(db, businessId, { personId: input.person.personId });
    if (!p) return fail('NOT_FOUND', 'No such person.', 'person.personId');
    phone = p.phone_e164;
    personId = p.id;
  }
  if (!phone) return fail('VALIDATION_FAILED', "An SMS invitation needs the person's phone number.", 'person.phone');
  await refuseIfOptedOut(db, ctx.keyring, businessId, phone, input.topics);
  const account = await getChannelAccount<TwilioSettings, TwilioSecrets>(db, ctx.keyring, businessId, 'twilio');
  if (!account?.secrets)
    return fail(
      'CHANNEL_NOT_CONFIGURED',
      "Set the business's Twilio account first (PUT /v1/channels/twilio).",
      'channel',
    );

  const lang = captureLanguage(text.language);
  const id = newId('inv', now);
  const expiresAt = now + opts.ttlMs;
  let tokenId = newTokenId();
  let instruction = captureText(lang, 'smsKeywordInstruction');
  if (input.mode === 'link') {
    const signed = signToken(ctx.keyring, 'invite', { b: businessId, i: id, exp: expiresAt, j: tokenId });
    tokenId = signed.id;
    instruction = captureText(lang, 'smsLinkInstruction', {
      link: `${opts.publicUrl}/p/${business.slug}/opt-in?inv=${signed.token}`,
    });
  }
  const body = `${text.body}\n${instruction}`;
  // Stored before it is sent, so a reply that beats our own bookkeeping still finds its invitation.
  await insertInvitation(db, {
    id,
    businessId,
    channel: 'sms',
    mode: input.mode,
    phone,
    emailHash: null,
    personId,
    topicKeys: [...new Set(input.topics)].sort(),
    textHash: text.hash,
    language: lang,
    messageBody: body,
    tokenId,
    providerMessageId: null,
    createdAt: now,
    expiresAt,
  });
  const sent = await outbound(ctx).sms.send(
    {
      accountSid: account.settings.accountSid,
      authToken: account.secrets.authToken,
      ...(account.settings.from ? { from: account.settings.from } : {}),
      ...(account.settings.messagingServiceSid ? { messagingServiceSid: account.settings.messagingServiceSid } : {}),
    },
    { to: phone, body },
  );
  if (!sent.ok) {
    // Never sent: drop it, so a later "YES WA" cannot answer an invitation the person never saw.
    await db.deleteFrom('invitations').where('business_id', '=', businessId).where('id', '=', id).execute();
    if (sent.kind === 'opted_out') {
      // Twilio knows a STOP we never saw (sent to the number before Optline, or while our webhook was not set):
      // it becomes a ledger opt-out with Twilio's word as evidence, so the gate refuses the number from now on.
      const sender = account.settings.from ?? account.settings.messagingServiceSid ?? null;
      await recordOptOut(ctx, businessId, {
        person: { phone },
        scope: 'all',
        channel: 'sms',
        action: 'provider_report',
        actor: 'twilio:sms',
        evidence: {
          provider: 'twilio',
          errorCode: sent.code,
          providerMessage: sent.message.slice(0, 200),
          sender,
          messageSid: null,
          invitationId: id,
        },
      });
      fail(
        'RECIPIENT_OPTED_OUT',
        'The number replied STOP to this Twilio sender (error 21610); no invitation is sent, and the opt-out is now in the ledger.',
        'person.phone',
      );
    }
    return fail('CHANNEL_SEND_FAILED', `Twilio refused the SMS: ${sent.message}`, 'channel', {
      retryable: sent.retryable,
      providerCode: sent.code,
    });
  }
  await setInvitationSent(db, businessId, id, sent.sid);
  return { invitationId: id, messageSid: sent.sid, mode: input.mode, body, expiresAt };
}
