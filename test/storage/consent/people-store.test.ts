import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness } from '../../helpers/seed.js';
import { takesRowLocks } from '../../../src/storage/db.js';
import { findPerson, lockOrCreatePerson, shareLockPerson } from '../../../src/storage/consent/people-store.js';

forEachDialect('storage: people store', (db, dialect) => {
  it("creates a person once and finds them again by phone or id, locked in the caller's transaction", async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    const now = ctx.clock.now();
    assert.equal(takesRowLocks(db().db), dialect === 'postgres', 'row locks exactly where the database has them');
    const made = await db().transaction((trx) =>
      lockOrCreatePerson(trx, business.id, { phone: '+447911123456' }, now, { country: 'GB' }),
    );
    const again = await db().transaction((trx) =>
      lockOrCreatePerson(trx, business.id, { phone: '+447911123456' }, now),
    );
    const byId = await db().transaction(async (trx) => {
      await shareLockPerson(trx, business.id, { personId: made.id });
      return lockOrCreatePerson(trx, business.id, { personId: made.id }, now);
    });
    assert.equal(again.id, made.id);
    assert.equal(byId.id, made.id);
    assert.equal(made.country, 'GB');
    assert.equal((await findPerson(db().db, business.id, { phone: '+447911123456' }))?.id, made.id);
  });

  it('edge: an unknown person id is NOT_FOUND and creates nothing', async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    await assert.rejects(
      db().transaction((trx) => lockOrCreatePerson(trx, business.id, { personId: 'per_missing' }, ctx.clock.now())),
      (e: { code?: string }) => e.code === 'NOT_FOUND',
    );
    const n = await db()
      .db.selectFrom('people')
      .select(db().db.fn.countAll().as('n'))
      .where('business_id', '=', business.id)
      .executeTakeFirst();
    assert.equal(Number(n?.n), 0);
  });
});
