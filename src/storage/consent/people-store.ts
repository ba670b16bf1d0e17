import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { takesRowLocks } from '../db.js';
import { newId } from '../../lib/ids.js';
import { fail } from '../../domain/errors.js';

type Q = Kysely<DB>;
export type PersonRow = DB['people'];

export interface PersonKey {
  personId?: string;
  phone?: string; // E.164, already normalised
  waId?: string;
  bsuid?: string;
}

/** The column and value a person is found by: their id, else phone, else WhatsApp id, else BSUID. */
export const keyColumn = (k: PersonKey): ['id' | 'phone_e164' | 'wa_id' | 'bsuid', string] =>
  k.personId
    ? ['id', k.personId]
    : k.phone
      ? ['phone_e164', k.phone]
      : k.waId
        ? ['wa_id', k.waId]
        : ['bsuid', k.bsuid ?? ''];

/** A new person's row, as every path that creates one writes it. */
export function newPersonRow(
  businessId: string,
  key: PersonKey,
  now: number,
  extra: { country?: string | null; timezone?: string | null; language?: string | null } = {},
): PersonRow {
  return {
    business_id: businessId,
    id: newId('per', now),
    phone_e164: key.phone ?? null,
    wa_id: key.waId ?? null,
    bsuid: key.bsuid ?? null,
    country: extra.country ?? null,
    language: extra.language ?? null,
    timezone: extra.timezone ?? null,
    created_at: now,
    updated_at: now,
    erased_at: null,
    last_inbound_at: null,
    unreachable_at: null,
    chain_seq: 0,
    chain_head: null,
    cond_key: null,
  };
}

export async function findPerson(q: Q, businessId: string, key: PersonKey): Promise<PersonRow | null> {
  const [col, val] = keyColumn(key);
  if (!val) return null;
  return (
    (await q
      .selectFrom('people')
      .selectAll()
      .where('business_id', '=', businessId)
      .where(col, '=', val)
      .executeTakeFirst()) ?? null
  );
}

/**
 * Finds or creates the person, then locks their row for the rest of the transaction (PostgreSQL), so events
 * of one person are appended one at a time and the hash chain never forks. Safe under concurrent creation:
 * the insert does nothing on conflict and the row is read back.
 */
export async function lockOrCreatePerson(
  q: Q,
  businessId: string,
  key: PersonKey,
  now: number,
  extra: { country?: string | null; timezone?: string | null; language?: string | null } = {},
): Promise<PersonRow> {
  let p = await findLocked(q, businessId, key);
  if (p) return p;
  if (key.personId) return fail('NOT_FOUND', 'No such person.', 'person.personId');
  await q
    .insertInto('people')
    .values(newPersonRow(businessId, key, now, extra))
    .onConflict((oc) => oc.doNothing())
    .execute();
  p = await findLocked(q, businessId, key);
  // Not found by its key, yet not insertable: another person holds one of its other ids.
  if (!p) return personConflict();
  return p;
}

async function findLocked(q: Q, businessId: string, key: PersonKey): Promise<PersonRow | null> {
  const [col, val] = keyColumn(key);
  if (!val) return null;
  let sel = q.selectFrom('people').selectAll().where('business_id', '=', businessId).where(col, '=', val);
  if (takesRowLocks(q)) sel = sel.forUpdate();
  return (await sel.executeTakeFirst()) ?? null;
}

/**
 * Share-locks the person's row for the caller's transaction where the database has row locks (PostgreSQL), so a
 * concurrent opt-out (which takes the row for update) either precedes what the caller decides or follows its
 * commit. Nothing to do on SQLite (one writer). A person not stored yet locks nothing.
 */
export async function shareLockPerson(q: Q, businessId: string, key: PersonKey): Promise<void> {
  if (!takesRowLocks(q)) return;
  let lock = q.selectFrom('people').select('id').where('business_id', '=', businessId);
  lock = key.phone
    ? lock.where('phone_e164', '=', key.phone)
    : key.personId
      ? lock.where('id', '=', key.personId)
      : lock.where('wa_id', '=', key.waId ?? key.bsuid ?? '');
  await lock.forShare().execute();
}

export async function isSuppressed(q: Q, businessId: string, phoneHash: string): Promise<boolean> {
  const r = await q
    .selectFrom('suppressions')
    .select('phone_hash')
    .where('business_id', '=', businessId)
    .where('phone_hash', '=', phoneHash)
    .executeTakeFirst();
  return r !== undefined;
}

/** A new person whose WhatsApp id, BSUID or number already belongs to someone else: a clear 409, not a crash. */
export const personConflict = (): never =>
  fail(
    'CONFLICT',
    'Another person already has this WhatsApp id, BSUID or phone number; name the person by the id they are known by.',
    'person',
  );

const PERSON_ID_KEYS = new Set(['people_phone', 'people_wa_id', 'people_bsuid']);
/** True when a write failed because one of the person's ids (number, WhatsApp id, BSUID) is someone else's. */
export function isPersonIdConflict(e: unknown): boolean {
  const err = e as { code?: string; constraint?: string; message?: string };
  if (err?.code === '23505') return PERSON_ID_KEYS.has(err.constraint ?? '');
  return err?.code === 'SQLITE_CONSTRAINT_UNIQUE' && /\bpeople\.(phone_e164|wa_id|bsuid)\b/.test(err.message ?? '');
}
