// The lease keeper of the once-per-database loops (worker/lease.ts), on a manual clock: one holder, counted on
// only until LEASE_MARGIN_MS before it runs out, taken over after it ran out, handed over at once on stop.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { createLease, LEASE_MARGIN_MS, LEASE_TTL_MS } from '../../src/worker/lease.js';

forEachDialect('process leases', (db) => {
  it('one holder; it stops counting on the lease before it runs out; another takes over after; a stop hands it over at once', async () => {
    const ctx = testContext(db());
    const a = createLease(ctx, 'inbox-processor', { holder: 'a' });
    const b = createLease(ctx, 'inbox-processor', { holder: 'b' });
    assert.equal(await a.tick(), true);
    assert.equal(await b.tick(), false);
    assert.deepEqual([a.held(), b.held()], [true, false]);
    ctx.clock.advance(LEASE_TTL_MS - LEASE_MARGIN_MS);
    assert.equal(a.held(), false, 'not renewed: a no longer counts on it, before anyone else may take it');
    assert.equal(await b.tick(), false, "still a's in the database");
    ctx.clock.advance(LEASE_MARGIN_MS);
    assert.equal(await b.tick(), true, 'ran out: taken over');
    assert.equal(await a.tick(), false);
    assert.deepEqual([a.held(), b.held()], [false, true]);
    await b.stop();
    assert.equal(b.held(), false);
    assert.equal(await a.tick(), true, 'released: taken at the next try');
    await a.stop();
  });
});
