import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { parseJson } from '../json.js';

type Q = Kysely<DB>;

export type InvitationChannel = 'sms' | 'email';
export type InvitationMode = 'link' | 'keyword';

export interface Invitation {
  id: string;
  businessId: string;
  channel: InvitationChannel;
  mode: InvitationMode;
  phone: string | null;
  emailHash: string | null;
  personId: string | null;
  topicKeys: string[];
  textHash: string;
  language: string;
  /** The exact SMS sent (proof of what a keyword reply answered); null for email. */
  messageBody: string | null;
  tokenId: string;
  providerMessageId: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

const toInvitation = (r: DB['invitations']): Invitation => ({
  id: r.id,
  businessId: r.business_id,
  channel: r.channel as InvitationChannel,
  mode: r.mode as InvitationMode,
  phone: r.phone_e164,
  emailHash: r.email_hash,
  personId: r.person_id,
  topicKeys: parseJson<string[]>(r.topic_keys, []),
  textHash: r.text_hash,
  language: r.language,
  messageBody: r.message_body,
  tokenId: r.token_id,
  providerMessageId: r.provider_message_id,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  usedAt: r.used_at === null ? null : Number(r.used_at),
});

export async function insertInvitation(q: Q, i: Omit<Invitation, 'usedAt'>): Promise<void> {
  await q
    .insertInto('invitations')
    .values({
      business_id: i.businessId,
      id: i.id,
      channel: i.channel,
      mode: i.mode,
      phone_e164: i.phone,
      email_hash: i.emailHash,
      person_id: i.personId,
      topic_keys: JSON.stringify(i.topicKeys),
      text_hash: i.textHash,
      language: i.language,
      message_body: i.messageBody,
      token_id: i.tokenId,
      provider_message_id: i.providerMessageId,
      created_at: i.createdAt,
      expires_at: i.expiresAt,
      used_at: null,
    })
    .execute();
}

export async function getInvitation(q: Q, businessId: string, id: string): Promise<Invitation | null> {
  const r = await q
    .selectFrom('invitations')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .executeTakeFirst();
  return r ? toInvitation(r) : null;
}

/** The newest unexpired SMS keyword invitation sent to a number: what "YES WA" answers. */
export async function latestKeywordInvitation(
  q: Q,
  businessId: string,
  phone: string,
  now: number,
): Promise<Invitation | null> {
  const r = await q
    .selectFrom('invitations')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('phone_e164', '=', phone)
    .where('channel', '=', 'sms')
    .where('mode', '=', 'keyword')
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? toInvitation(r) : null;
}

export async function setInvitationSent(
  q: Q,
  businessId: string,
  id: string,
  providerMessageId: string,
): Promise<void> {
  await q
    .updateTable('invitations')
    .set({ provider_message_id: providerMessageId })
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
}

export async function markInvitationUsed(
  q: Q,
  businessId: string,
  id: string,
  now: number,
  fill: { phone?: string; personId?: string } = {},
): Promise<void> {
  await q
    .updateTable('invitations')
    .set({
      used_at: now,
      ...(fill.phone ? { phone_e164: fill.phone } : {}),
      ...(fill.personId ? { person_id: fill.personId } : {}),
    })
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
}

export async function isEmailSuppressed(q: Q, businessId: string, emailHash: string): Promise<boolean> {
  const r = await q
    .selectFrom('email_suppressions')
    .select('email_hash')
    .where('business_id', '=', businessId)
    .where('email_hash', '=', emailHash)
    .executeTakeFirst();
  return r !== undefined;
}

export async function suppressEmail(q: Q, businessId: string, emailHash: string, now: number): Promise<void> {
  await q
    .insertInto('email_suppressions')
    .values({ business_id: businessId, email_hash: emailHash, created_at: now })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Spends a single-use token id; false when it was already spent (the caller refuses the link). */
export async function spendToken(
  q: Q,
  businessId: string,
  tokenId: string,
  expiresAt: number,
  now: number,
): Promise<boolean> {
  const res = await q
    .insertInto('used_tokens')
    .values({ business_id: businessId, token_id: tokenId, used_at: now, expires_at: expiresAt })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function isTokenSpent(q: Q, businessId: string, tokenId: string): Promise<boolean> {
  const r = await q
    .selectFrom('used_tokens')
    .select('token_id')
    .where('business_id', '=', businessId)
    .where('token_id', '=', tokenId)
    .executeTakeFirst();
  return r !== undefined;
}
