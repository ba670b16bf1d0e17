import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { parseJson } from '../json.js';
import { takesRowLocks } from '../db.js';

type Q = Kysely<DB>;

export type OwnershipStatus = 'pending' | 'redeemed';

export interface OwnershipRequest {
  id: string;
  businessId: string;
  phone: string;
  topicKeys: string[];
  textHash: string;
  language: string;
  /** The capture path the form came from: 'web' (the hosted page) or 'email' (an invitation link). */
  channel: 'web' | 'email';
  /** What the form submission proved: ip, user agent, page URL, boxes checked, time. */
  evidence: Record<string, unknown>;
  status: OwnershipStatus;
  createdAt: number;
  expiresAt: number;
  redeemedAt: number | null;
  eventId: string | null;
}

const toRequest = (r: DB['ownership_requests']): OwnershipRequest => ({
  id: r.id,
  businessId: r.business_id,
  phone: r.phone_e164,
  topicKeys: parseJson<string[]>(r.topic_keys, []),
  textHash: r.text_hash,
  language: r.language,
  channel: r.channel as OwnershipRequest['channel'],
  evidence: parseJson<Record<string, unknown>>(r.evidence, {}),
  status: r.status as OwnershipStatus,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  redeemedAt: r.redeemed_at === null ? null : Number(r.redeemed_at),
  eventId: r.event_id,
});

export async function insertOwnershipRequest(
  q: Q,
  r: Omit<OwnershipRequest, 'status' | 'redeemedAt' | 'eventId'> & { codeHash: string },
): Promise<void> {
  await q
    .insertInto('ownership_requests')
    .values({
      business_id: r.businessId,
      id: r.id,
      code_hash: r.codeHash,
      phone_e164: r.phone,
      topic_keys: JSON.stringify(r.topicKeys),
      text_hash: r.textHash,
      language: r.language,
      channel: r.channel,
      evidence: JSON.stringify(r.evidence),
      status: 'pending',
      created_at: r.createdAt,
      expires_at: r.expiresAt,
      redeemed_at: null,
      event_id: null,
    })
    .execute();
}

/** The request a code names, locked for the caller's transaction on PostgreSQL so it is redeemed once. */
export async function findOwnershipRequestByCode(
  q: Q,
  businessId: string,
  codeHash: string,
): Promise<OwnershipRequest | null> {
  let sel = q
    .selectFrom('ownership_requests')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('code_hash', '=', codeHash);
  if (takesRowLocks(q)) sel = sel.forUpdate();
  const r = await sel.executeTakeFirst();
  return r ? toRequest(r) : null;
}

export async function markOwnershipRedeemed(
  q: Q,
  businessId: string,
  id: string,
  eventId: string,
  now: number,
): Promise<void> {
  await q
    .updateTable('ownership_requests')
    .set({ status: 'redeemed', redeemed_at: now, event_id: eventId })
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
}
