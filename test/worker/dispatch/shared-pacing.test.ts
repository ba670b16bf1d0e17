/**
 * What one worker learns from the provider reaches every other worker through the database, whatever the
 * timing: the test plays two workers on one database with an injected time (no sleeping). Worker A records
 * a 130429, an account pause and a 131056 through sharedPacing; worker B's next claims read the shared rows
 * (lockNumber, recipientPenalties) in transactions of their own, as a claim in another process does.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { silentLogger } from '../../../src/lib/logger.js';
import type { Database } from '../../../src/storage/db.js';
import { lockNumber, recipientPenalties } from '../../../src/storage/dispatch/number-pacing-store.js';
import { sharedPacing } from '../../../src/worker/dispatch/shared-pacing.js';
import { available, current, freshSlots, take } from '../../../src/worker/dispatch/number-slots.js';
import type { DispatchItem } from '../../../src/worker/dispatch/types.js';

const RATE = 80;
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

const item = (businessId: string, number: string, personId = 'per_1') =>
  ({
    id: 'msg_1',
    businessId,
    personId,
    account: { phoneNumberId: number, ratePerSecond: RATE },
  }) as unknown as DispatchItem;

/** Worker B's claim at `now`: the number's state as the next claim of any worker sees it. */
async function claimView(database: Database, businessId: string, number: string, now: number) {
  return database.transaction(async (trx) =>
    current(await lockNumber(trx, businessId, number, freshSlots(RATE, now), now), RATE, now),
  );
}

forEachDialect('shared pacing: one worker learns, every worker slows', (db) => {
  it('a 130429 seen by worker A pauses and slows the number for worker B; a stale 130429 cuts nothing more', async () => {
    const A = sharedPacing(db(), silentLogger());
    const b = 'biz_pace1';
    const n = '1065400001';
    assert.ok(available(await claimView(db(), b, n, T0), T0, 250) > 0, 'B may send before the error');

    await A.slowDown(item(b, n), T0, T0 - 5);
    const during = await claimView(db(), b, n, T0 + 10);
    assert.equal(available(during, T0 + 10, 250), 0, 'B gets no slot during the pause');
    // A quarter slower (it climbs back over 10 s, so a little above 60/s 10 ms later).
    assert.ok(during.rate < RATE * 0.76, `B sends slower: ${during.rate}/s`);

    // Another 130429 for a call that started before the slowdown was recorded is the same overflow: no second cut.
    await A.slowDown(item(b, n), T0 + 20, T0 - 1);
    const again = (await claimView(db(), b, n, T0 + 20)).rate;
    assert.ok(again > RATE * 0.74 && again < RATE * 0.76, `cut once only: ${again}/s`);

    const afterPause = await claimView(db(), b, n, T0 + 1001);
    assert.ok(available(afterPause, T0 + 1001, 250) > 0, 'B sends again once the pause is over');
    const { slots } = take(afterPause, 3, T0 + 1001);
    assert.ok(
      slots.every((s) => s >= T0 + 1000),
      'no slot inside the pause',
    );
  });

  it("an account pause seen by worker A holds worker B's sends on that number for its length, and only that number", async () => {
    const A = sharedPacing(db(), silentLogger());
    const b = 'biz_pace2';
    await A.pause(item(b, '1065400002'), T0, 60_000);
    assert.equal(available(await claimView(db(), b, '1065400002', T0 + 59_000), T0 + 59_000, 250), 0);
    assert.ok(available(await claimView(db(), b, '1065400002', T0 + 60_001), T0 + 60_001, 250) > 0);
    assert.ok(available(await claimView(db(), b, '1065400003', T0 + 1), T0 + 1, 250) > 0, 'another number is not held');
  });

  it("a 131056 seen by worker A makes worker B's claim wait for that recipient; an accepted send clears it", async () => {
    const A = sharedPacing(db(), silentLogger());
    const b = 'biz_pace3';
    const readyAt = await A.penalize(item(b, '1065400004', 'per_x'), T0);
    assert.ok(readyAt > T0, 'the recipient waits');
    const seen = await recipientPenalties(db().db, b, ['per_x', 'per_y']);
    assert.equal(seen.get('per_x'), readyAt, 'B reads the same wait');
    assert.equal(seen.has('per_y'), false, 'other recipients do not wait');
    await A.recipientOk(item(b, '1065400004', 'per_x'));
    assert.equal((await recipientPenalties(db().db, b, ['per_x'])).has('per_x'), false);
  });
});
