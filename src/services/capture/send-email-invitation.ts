import { fail } from '../../domain/errors.js';
import { newId } from '../../lib/ids.js';
import { getChannelAccount } from '../../storage/business/channel-store.js';
import { findPerson, type PersonRow } from '../../storage/consent/people-store.js';
import { insertInvitation, isEmailSuppressed } from '../../storage/capture/invitation-store.js';
import { listTopics } from '../../storage/business/business-store.js';
import { renderTemplate } from '../../lib/templates.js';
import type { Keyring } from '../../lib/crypto.js';
import { outbound, type ServiceContext } from '../context.js';
import type { SmtpSecrets, SmtpSettings } from './configure-channels.js';
import { captureLanguage, captureText, listNames } from '../../domain/capture/texts.js';
import { checkInvitation, refuseIfOptedOut } from './invitation-checks.js';
import { signToken } from '../../lib/link-tokens.js';
import { resolvePersonRef, type PersonRefInput } from '../consent/person-ref.js';

/** The one-click unsubscribe link keeps working for a year: people unsubscribe from old mail too. */
export const UNSUBSCRIBE_TTL_MS = 365 * 24 * 3_600_000;

/** Addresses are kept only as a keyed hash (the suppression list), never in clear. */
export const emailHash = (keyring: Keyring, email: string) => keyring.phoneHash(`mailto:${email.trim().toLowerCase()}`);

export interface EmailInvitationInput {
  email: string;
  person?: PersonRefInput;
  topics: string[];
  textHash: string;
}

/**
 * Emails the program details (the registered opt-in text) with a signed, expiring, single-use link to the hosted
 * page, pre-filled; the person still decides on the page. Carries RFC 8058 one-click unsubscribe headers.
 */
export async function sendEmailInvitation(
  ctx: ServiceContext,
  businessId: string,
  input: EmailInvitationInput,
  opts: { publicUrl: string; platformSmtp: { url: string | null; from: string }; ttlMs: number },
): Promise<{ invitationId: string; messageId: string; expiresAt: number }> {
  const now = ctx.clock.now();
  const db = ctx.database.db;
  const { business, text } = await checkInvitation(db, businessId, input.topics, input.textHash);
  const hash = emailHash(ctx.keyring, input.email);
  if (await isEmailSuppressed(db, businessId, hash))
    fail('RECIPIENT_OPTED_OUT', 'This address used the unsubscribe link; no invitation is sent to it.', 'email');
  let person: PersonRow | null = null;
  let phone: string | null = null;
  if (input.person) {
    const ref = resolvePersonRef(input.person, 'person.phone');
    person = await findPerson(db, businessId, ref.key);
    phone = ref.key.phone ?? person?.phone_e164 ?? null;
    if (ref.key.personId && !person) return fail('NOT_FOUND', 'No such person.', 'person.personId');
  }
  await refuseIfOptedOut(db, ctx.keyring, businessId, phone, input.topics);

  const account = await getChannelAccount<SmtpSettings, SmtpSecrets>(db, ctx.keyring, businessId, 'smtp');
  const smtp = account?.secrets
    ? { url: account.secrets.url, from: account.settings.from }
    : opts.platformSmtp.url
      ? { url: opts.platformSmtp.url, from: opts.platformSmtp.from }
      : null;
  if (!smtp)
    return fail(
      'CHANNEL_NOT_CONFIGURED',
      "No SMTP server: set OPTLINE_SMTP_URL or the business's own (PUT /v1/channels/smtp).",
      'channel',
    );

  const lang = captureLanguage(text.language);
  const id = newId('inv', now);
  const expiresAt = now + opts.ttlMs;
  const invite = signToken(ctx.keyring, 'invite', { b: businessId, i: id, exp: expiresAt });
  const unsub = signToken(ctx.keyring, 'unsub', { b: businessId, i: id, exp: now + UNSUBSCRIBE_TTL_MS });
  const link = `${opts.publicUrl}/p/${business.slug}/opt-in?inv=${invite.token}`;
  const unsubscribeUrl = `${opts.publicUrl}/p/unsubscribe/${unsub.token}`;
  const topics = await listTopics(db, businessId);
  const vars = {
    business: business.displayName,
    topics: listNames(
      lang,
      input.topics.map((k) => topics.find((t) => t.key === k)?.name ?? k),
    ),
  };
  const date = new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeZone: 'UTC' }).format(expiresAt);
  const words = {
    subject: captureText(lang, 'emailSubject', vars),
    intro: captureText(lang, 'emailIntro', vars),
    cta: captureText(lang, 'emailCta', { date }),
    button: captureText(lang, 'emailButton'),
    nothingUnless: captureText(lang, 'emailNothingUnless'),
    unsubscribeLabel: captureText(lang, 'emailUnsubscribe'),
  };
  const plain = [
    words.intro,
    '',
    text.body,
    '',
    words.cta,
    link,
    '',
    words.nothingUnless,
    '',
    `${words.unsubscribeLabel} ${unsubscribeUrl}`,
  ].join('\n');
  await insertInvitation(db, {
    id,
    businessId,
    channel: 'email',
    mode: 'link',
    phone,
    emailHash: hash,
    personId: person?.id ?? null,
    topicKeys: [...new Set(input.topics)].sort(),
    textHash: text.hash,
    language: lang,
    messageBody: null,
    tokenId: invite.id,
    providerMessageId: null,
    createdAt: now,
    expiresAt,
  });
  // The server: the business's own smtp channel, else the platform's (OPTLINE_SMTP_URL).
  const sent = await outbound(ctx).mail.send(smtp, {
    to: input.email,
    subject: words.subject,
    text: plain,
    unsubscribeUrl,
    html: renderTemplate('email-invitation', {
      ...words,
      lang,
      link,
      unsubscribeUrl,
      textBody: text.body,
      textLanguage: text.language,
    }),
  });
  if (!sent.ok) {
    await db.deleteFrom('invitations').where('business_id', '=', businessId).where('id', '=', id).execute();
    return fail('CHANNEL_SEND_FAILED', `The SMTP server refused the email: ${sent.message}`, 'channel', {
      retryable: sent.retryable,
    });
  }
  await db
    .updateTable('invitations')
    .set({ provider_message_id: sent.messageId })
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
  return { invitationId: id, messageId: sent.messageId, expiresAt };
}
