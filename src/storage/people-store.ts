import type { Kysely } from 'kysely';
import type { DB } from './schema.js';
import type { Capabilities } from './db.js';
import { newId } from '../lib/ids.js';
import { fail } from '../domain/errors.js';

type Q = Kysely<DB>;
export type PersonRow = DB['people'];

export interface PersonKey {
  personId?: string;
  phone?: string; // E.164, already normalised
  waId?: string;
  bsuid?: string;
}

export async function findPerson(q: Q, businessId: string, key: PersonKey): Promise<PersonRow | null> {
  let sel = q.selectFrom('people').selectAll().where('business_id', '=', businessId);
  if (key.personId) sel = sel.where('id', '=', key.personId);
  else if (key.phone) sel = sel.where('phone_e164', '=', key.phone);
  else if (key.waId) sel = sel.where('wa_id', '=', key.waId);
  else if (key.bsuid) sel = sel.where('bsuid', '=', key.bsuid);
  else return null;
  return (await sel.executeTakeFirst()) ?? null;
}

/**
 * Finds or creates the person, then locks their row for the rest of the transaction (PostgreSQL), so events
 * of one person are appended one at a time and the hash chain never forks. Safe under concurrent creation:
 * the insert does nothing on conflict and the row is read back.
 */
export async function lockOrCreatePerson(
  q: Q,
  caps: Capabilities,
  businessId: string,
  key: PersonKey,
  now: number,
  extra: { country?: string | null; timezone?: string | null; language?: string | null } = {},
): Promise<PersonRow> {
  let p = await findLocked(q, caps, businessId, key);
  if (p) return p;
  if (key.personId) return fail('NOT_FOUND', 'No such person.', 'person.personId');
  await q
    .insertInto('people')
    .values({
      business_id: businessId, id: newId('per', now), phone_e164: key.phone ?? null, wa_id: key.waId ?? null,
      bsuid: key.bsuid ?? null, country: extra.country ?? null, language: extra.language ?? null,
      timezone: extra.timezone ?? null, created_at: now, updated_at: now, erased_at: null, last_inbound_at: null,
      unreachable_at: null, chain_seq: 0, chain_head: null,
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
  p = await findLocked(q, caps, businessId, key);
  if (!p) throw new Error('person could not be created');
  return p;
}

async function findLocked(q: Q, caps: Capabilities, businessId: string, key: PersonKey): Promise<PersonRow | null> {
  let sel = q.selectFrom('people').selectAll().where('business_id', '=', businessId);
  if (key.personId) sel = sel.where('id', '=', key.personId);
  else if (key.phone) sel = sel.where('phone_e164', '=', key.phone);
  else if (key.waId) sel = sel.where('wa_id', '=', key.waId);
  else if (key.bsuid) sel = sel.where('bsuid', '=', key.bsuid);
  else return null;
  if (caps.rowLocks) sel = sel.forUpdate();
  return (await sel.executeTakeFirst()) ?? null;
}

export async function isSuppressed(q: Q, businessId: string, phoneHash: string): Promise<boolean> {
  const r = await q.selectFrom('suppressions').select('phone_hash').where('business_id', '=', businessId).where('phone_hash', '=', phoneHash).executeTakeFirst();
  return r !== undefined;
}
