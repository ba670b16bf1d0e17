import { normalisePhone } from '../../lib/phone.js';
import { timezoneForPhone } from '../consent/person-ref.js';
import { takesRowLocks, type Trx } from '../../storage/db.js';
import { lockOrCreatePerson, type PersonKey, type PersonRow } from '../../storage/consent/people-store.js';

/**
 * Who wrote: the phone number (`from`, digits, as E.164), the WhatsApp id, and the business-scoped user id
 * (BSUID, 2026), any of which may be missing (a username-only user has only the BSUID).
 */
export interface ChatIdentity {
  phone?: string;
  waId?: string;
  bsuid?: string;
  country?: string;
}

export function chatIdentity(from: { from?: string; waId?: string; userId?: string }): ChatIdentity | null {
  const id: ChatIdentity = {};
  const digits = from.from ?? from.waId;
  if (digits) {
    const r = normalisePhone(digits);
    if (r.ok) {
      id.phone = r.e164;
      if (r.country) id.country = r.country;
    }
  }
  const waId = from.waId ?? from.from;
  if (waId) id.waId = waId;
  if (from.userId) id.bsuid = from.userId;
  return id.phone || id.waId || id.bsuid ? id : null;
}

/**
 * The person known by any of the ids, trying the phone first (the id consent is recorded under). `lock`: the row
 * found is also taken for update for the transaction (where the database has row locks), in the same statement.
 */
export async function findChatPerson(
  trx: Trx,
  businessId: string,
  id: ChatIdentity,
  o: { lock?: boolean } = {},
): Promise<PersonRow | null> {
  const tries: [string, string | undefined][] = [
    ['phone_e164', id.phone],
    ['wa_id', id.waId],
    ['bsuid', id.bsuid],
  ];
  for (const [col, v] of tries) {
    if (!v) continue;
    let sel = trx
      .selectFrom('people')
      .selectAll()
      .where('business_id', '=', businessId)
      .where(col as 'phone_e164', '=', v);
    if (o.lock && takesRowLocks(trx)) sel = sel.forUpdate();
    const r = await sel.executeTakeFirst();
    if (r) return r;
  }
  return null;
}

/**
 * Finds or creates the person who wrote and locks their row (their consent chain) for the transaction. Ids
 * learnt on the way (a BSUID for a person known by phone, a phone for a BSUID-only person) are filled in,
 * unless another person already holds them: two records are never merged silently here.
 */
export async function lockChatPerson(trx: Trx, businessId: string, id: ChatIdentity, now: number): Promise<PersonRow> {
  const found = await findChatPerson(trx, businessId, id, { lock: true });
  let person: PersonRow;
  if (found) {
    person = found;
  } else {
    const key: PersonKey = {};
    if (id.phone) key.phone = id.phone;
    if (id.waId) key.waId = id.waId;
    if (id.bsuid) key.bsuid = id.bsuid;
    // A concurrent first message from the same person inserts too: the loser's insert does nothing and reads the row
    // back.
    person = await lockOrCreatePerson(trx, businessId, key, now, {
      country: id.country ?? null,
      timezone: id.phone ? timezoneForPhone(id.phone, id.country) : null,
    });
  }
  await fillIds(trx, person, id, now);
  return person;
}

async function fillIds(trx: Trx, person: PersonRow, id: ChatIdentity, now: number): Promise<void> {
  const set: { phone_e164?: string; wa_id?: string; bsuid?: string; country?: string } = {};
  const free = async (col: 'phone_e164' | 'wa_id' | 'bsuid', v: string) =>
    !(await trx
      .selectFrom('people')
      .select('id')
      .where('business_id', '=', person.business_id)
      .where(col, '=', v)
      .executeTakeFirst());
  if (person.erased_at !== null) return;
  if (id.phone && !person.phone_e164 && (await free('phone_e164', id.phone))) {
    set.phone_e164 = id.phone;
    if (id.country && !person.country) set.country = id.country;
  }
  if (id.waId && !person.wa_id && (await free('wa_id', id.waId))) set.wa_id = id.waId;
  if (id.bsuid && !person.bsuid && (await free('bsuid', id.bsuid))) set.bsuid = id.bsuid;
  if (Object.keys(set).length === 0) return;
  await trx
    .updateTable('people')
    .set({ ...set, updated_at: now })
    .where('business_id', '=', person.business_id)
    .where('id', '=', person.id)
    .execute();
  Object.assign(person, set);
}

/** Opens or refreshes the 24-hour service window. Never consent: only the time of the person's last message. */
export async function touchWindow(trx: Trx, person: PersonRow, at: number): Promise<void> {
  if (person.last_inbound_at !== null && Number(person.last_inbound_at) >= at) return;
  // Someone who writes to us on WhatsApp is on WhatsApp: an older "undeliverable" (131026) no longer holds.
  const reachable = person.unreachable_at !== null && Number(person.unreachable_at) < at;
  await trx
    .updateTable('people')
    .set(reachable ? { last_inbound_at: at, unreachable_at: null } : { last_inbound_at: at })
    .where('business_id', '=', person.business_id)
    .where('id', '=', person.id)
    .execute();
  person.last_inbound_at = at;
  if (reachable) person.unreachable_at = null;
}
