// Migration 0013: the people already there get the zone their number gives (they had their country's, or none
// for a country of several zones). Both dialects: the step is taken back (down) and run again (up) on real rows.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness } from '../../helpers/seed.js';
import { lockOrCreatePerson } from '../../../src/storage/consent/people-store.js';
import * as m0013 from '../../../src/storage/migrations/0013-person-timezone.js';

forEachDialect("storage: migration 0013 works out existing people's zones from their numbers", (db) => {
  it('New York, Los Angeles and London numbers get their zones; a number with several zones keeps none', async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    const now = ctx.clock.now();
    const phones = {
      '+12125550147': 'America/New_York',
      '+14155550132': 'America/Los_Angeles',
      '+447911123456': 'Europe/London',
      '+18002530000': null,
    };
    const ids: Record<string, string> = {};
    for (const phone of Object.keys(phones)) {
      // As people were created before: the country's zone only (none for the US).
      const tz = phone.startsWith('+44') ? 'Europe/London' : null;
      const extra = { country: phone.startsWith('+44') ? 'GB' : 'US', timezone: tz };
      ids[phone] = (await db().transaction((trx) => lockOrCreatePerson(trx, business.id, { phone }, now, extra))).id;
    }
    await db()
      .db.updateTable('people')
      .set({ timezone: 'Europe/Paris' })
      .where('id', '=', ids['+18002530000']!)
      .execute();
    await m0013.down(db().db);
    await m0013.up(db().db);
    const rows = await db()
      .db.selectFrom('people')
      .select(['id', 'timezone', 'timezone_chosen_at'])
      .where('business_id', '=', business.id)
      .execute();
    for (const [phone, tz] of Object.entries(phones)) {
      const r = rows.find((x) => x.id === ids[phone])!;
      assert.equal(r.timezone, tz, phone);
      assert.equal(r.timezone_chosen_at, null);
    }
  });
});
