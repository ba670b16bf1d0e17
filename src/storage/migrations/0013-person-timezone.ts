import { type Kysely } from 'kysely';
import { timezoneOfNumber } from '../../domain/gate/timezones.js';
import { numberTimezones } from '../../lib/phone-timezones.js';

// Frozen in time: never edit a migration that has shipped; add a new one.
// Issue 14. A person may choose their own time zone (API, preference page): when they did, `people.timezone` is
// theirs and nothing derived from their number replaces it. Null: the zone came from the number (or none did).
// The people already there got their zone from their country alone (none for the US, Canada, Russia…): it is
// worked out again from their number, as for a new person (the rule as it stands when this runs, once).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('people').addColumn('timezone_chosen_at', 'bigint').execute();
  let after: { b: string; id: string } | null = null;
  for (;;) {
    // Keyset pages by (business_id, id): bounded memory, one index walk, whatever the number of people.
    let q = db
      .selectFrom('people')
      .select(['business_id', 'id', 'phone_e164', 'country', 'timezone'])
      .where('phone_e164', 'is not', null);
    const from = after;
    if (from) {
      q = q.where((eb) =>
        eb.or([eb('business_id', '>', from.b), eb.and([eb('business_id', '=', from.b), eb('id', '>', from.id)])]),
      );
    }
    type Row = { business_id: string; id: string; phone_e164: string; country: string | null; timezone: string | null };
    const rows: Row[] = await q.orderBy('business_id').orderBy('id').limit(2000).execute();
    if (rows.length === 0) break;
    const changes = new Map<string, { businessId: string; ids: string[] }>();
    for (const r of rows) {
      const tz = timezoneOfNumber(numberTimezones(r.phone_e164), r.country).timezone;
      if (tz === r.timezone) continue;
      const k = `${r.business_id}|${tz ?? ''}`;
      let c = changes.get(k);
      if (!c) changes.set(k, (c = { businessId: r.business_id, ids: [] }));
      c.ids.push(r.id);
    }
    for (const [k, c] of changes) {
      const tz = k.slice(c.businessId.length + 1) || null;
      await db
        .updateTable('people')
        .set({ timezone: tz })
        .where('business_id', '=', c.businessId)
        .where('id', 'in', c.ids)
        .execute();
    }
    const last = rows[rows.length - 1]!;
    after = { b: last.business_id, id: last.id };
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('people').dropColumn('timezone_chosen_at').execute();
}
