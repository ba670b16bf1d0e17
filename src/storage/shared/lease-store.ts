import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DB } from '../schema.js';

export interface LeaseRow {
  name: string;
  holder: string;
  until: number;
  takenAt: number;
}

/**
 * Takes or renews the lease `name` for `holder` until `now + ttlMs`, in ONE conditional upsert (both dialects):
 * it is written when there is no row, when `holder` holds it already, or when the holder's time is over; the
 * row comes back only when it was written. So of several processes asking at once exactly one gets a free or
 * expired lease, and a live holder is never displaced. Returns whether `holder` holds it now.
 */
export async function takeLease(
  db: Kysely<DB>,
  name: string,
  holder: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const until = now + ttlMs;
  const row = await db
    .insertInto('process_leases')
    .values({ name, holder, until, taken_at: now })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({
          holder,
          until,
          // A renewal keeps the time the holder first took it; a takeover starts a new one.
          taken_at: sql<number>`case when process_leases.holder = ${holder} then process_leases.taken_at else ${now} end`,
        })
        .where((eb) => eb.or([eb('process_leases.holder', '=', holder), eb('process_leases.until', '<=', now)])),
    )
    .returning('holder')
    .executeTakeFirst();
  return row?.holder === holder;
}

/** Gives the lease up (a stopping process), so another takes over at its next try instead of after the expiry. */
export async function releaseLease(db: Kysely<DB>, name: string, holder: string, now: number): Promise<void> {
  await db
    .updateTable('process_leases')
    .set({ until: now })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .execute();
}

export async function readLease(db: Kysely<DB>, name: string): Promise<LeaseRow | null> {
  const r = await db.selectFrom('process_leases').selectAll().where('name', '=', name).executeTakeFirst();
  return r ? { name: r.name, holder: r.holder, until: Number(r.until), takenAt: Number(r.taken_at) } : null;
}
