import type { Kysely } from 'kysely';
import type { DB } from '../../src/storage/schema.js';

let n = 0;
const base = Math.floor(Math.random() * 50_000);
/** A fresh valid UK mobile number per call, as E.164 and as Meta's bare digits. */
export function newNumber(): { e164: string; digits: string } {
  n += 1;
  // 07911 1xxxxx: all valid UK mobiles; unique within one test process.
  const e164 = `+447911${100000 + ((base + n) % 99_999)}`;
  return { e164, digits: e164.slice(1) };
}

export async function personBy(db: Kysely<DB>, businessId: string, col: 'phone_e164' | 'bsuid', v: string) {
  return db
    .selectFrom('people')
    .selectAll()
    .where('business_id', '=', businessId)
    .where(col, '=', v)
    .executeTakeFirst();
}

export async function replies(db: Kysely<DB>, businessId: string, personId: string) {
  const rows = await db
    .selectFrom('messages')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .where('kind', '=', 'reply')
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    ...r,
    payload: JSON.parse(r.payload) as {
      text: string;
      purpose: string;
      language?: string;
      interactive?: Record<string, unknown>;
    },
  }));
}

export async function events(db: Kysely<DB>, businessId: string, personId: string) {
  return db
    .selectFrom('consent_events')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .orderBy('seq')
    .execute();
}

export async function inboxRows(db: Kysely<DB>, businessId?: string) {
  let q = db.selectFrom('inbox').selectAll().orderBy('id');
  if (businessId !== undefined) q = q.where('business_id', '=', businessId);
  return q.execute();
}
