/**
 * A cancellation that reaches a message queued again after a failed provider call: the opt-out (or the claim)
 * read its clock before that call ended and only got to the row after the retry was written. The row was
 * cancelled after the call ended, so its recorded cancellation time must not come before the call's end
 * (the dispatch simulation's G5 check: "cancelled during its call"). Both dialects.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness } from '../../helpers/seed.js';
import { lockOrCreatePerson } from '../../../src/storage/consent/people-store.js';
import { cancelOpenMessages, insertMessage } from '../../../src/storage/dispatch/outbox-store.js';
import { markSending, settleAtClaim, writeRetry } from '../../../src/storage/dispatch/dispatch-store.js';
import { describeMessage } from '../../../src/domain/message-history.js';
import type { Database } from '../../../src/storage/db.js';

forEachDialect('storage: a cancellation after a failed call is not dated inside that call', (db) => {
  /** A message whose first try's call ran from t0+10 to t0+50 and failed: queued again, its call times kept. */
  async function queuedAfterFailedCall(database: Database) {
    const ctx = testContext(database);
    const { business, topics } = await seedBusiness(ctx);
    const t0 = ctx.clock.now();
    const person = await database.transaction((trx) =>
      lockOrCreatePerson(trx, business.id, { phone: '+447911123999' }, t0),
    );
    const row = await insertMessage(
      database.db,
      {
        businessId: business.id,
        personId: person.id,
        topicId: topics.delivery.id,
        kind: 'notification',
        payload: { template: { name: 't', language: 'en' }, requestHash: 'h' },
        notBefore: t0,
      },
      t0,
    );
    const key = { businessId: business.id, id: row.id };
    const [leased] = await markSending(database.db, [key], { owner: 'w1', leaseUntil: t0 + 60_000, now: t0 });
    assert.ok(leased);
    const retried = await writeRetry(database.db, key, leased.attempts, {
      notBefore: t0 + 5_000,
      errorCode: 'META_131000',
      detail: 'transient',
      now: t0 + 50,
      call: { startedAt: t0 + 10, endedAt: t0 + 50 },
    });
    assert.equal(retried, true);
    return { business, person, key, t0 };
  }

  async function timesOf(database: Database, id: string) {
    const m = await database.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const n = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));
    return {
      status: m.status,
      t: {
        claimedAt: n(m.claimed_at),
        callStartedAt: n(m.call_started_at),
        callEndedAt: n(m.call_ended_at),
        cancelledAt: n(m.cancelled_at),
        cancelReason: m.cancel_reason ?? null,
      },
    };
  }

  it('an opt-out whose time was read before the call ended cancels the re-queued message no earlier than the call ended', async () => {
    const { business, person, key, t0 } = await queuedAfterFailedCall(db());
    // The opt-out's `now` (t0 + 20) was taken while the call was in flight; its UPDATE ran after the retry committed.
    const n = await db().transaction((trx) =>
      cancelOpenMessages(trx, business.id, person.id, null, 'OPTED_OUT', t0 + 20),
    );
    assert.equal(n, 1, 'a message waiting for its next try is still cancelled');
    const { status, t } = await timesOf(db(), key.id);
    assert.equal(status, 'cancelled');
    assert.equal(t.cancelReason, 'OPTED_OUT');
    assert.equal(t.callEndedAt, t0 + 50);
    assert.ok(
      t.cancelledAt !== null && t.cancelledAt >= t.callEndedAt!,
      `cancelled at ${t.cancelledAt}, call ended ${t.callEndedAt}`,
    );
    assert.equal(t.cancelledAt, t0 + 50);
    assert.match(describeMessage(status, t), /^Cancelled \(OPTED_OUT\) at .*a provider call had started/);
  });

  it('a later opt-out keeps its own time, and a claim-time cancellation is bounded the same way', async () => {
    const a = await queuedAfterFailedCall(db());
    await db().transaction((trx) => cancelOpenMessages(trx, a.business.id, a.person.id, null, 'OPTED_OUT', a.t0 + 900));
    assert.equal((await timesOf(db(), a.key.id)).t.cancelledAt, a.t0 + 900);

    const b = await queuedAfterFailedCall(db());
    await settleAtClaim(db().db, b.key, {
      status: 'cancelled',
      errorCode: 'OPTED_OUT',
      detail: 'Opted out.',
      now: b.t0 + 20,
    });
    const { status, t } = await timesOf(db(), b.key.id);
    assert.equal(status, 'cancelled');
    assert.equal(t.cancelledAt, b.t0 + 50);
  });
});
