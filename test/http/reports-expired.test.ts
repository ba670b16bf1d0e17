// Expired consents in the reports (issue 14): the event report counts `expired` ledger events as expirations
// (never as opt-outs) and the totals count people whose consent expired. Both dialects, injected clock.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, PHONE_B, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';
import { expireConsents } from '../../src/services/consent/expire-consents.js';

const DAY = 86_400_000;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

forEachDialect('reports: expired consents', (db) => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp(db());
  });
  after(async () => {
    await t.app.close();
  });

  it('a double opt-in never confirmed is an expiration in the event report and in the totals, not an opt-out', async () => {
    const b = await t.newBusiness();
    assert.equal((await t.call('PATCH', '/v1/business', b.key, { policy: { doubleOptIn: true } })).statusCode, 200);
    const start = t.ctx.clock.now();
    for (const phone of [PHONE_A, PHONE_B]) {
      const r = await t.call('POST', '/v1/opt-ins', b.key, {
        person: { phone },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.textHash,
        evidence: WEB_EVIDENCE,
      });
      assert.equal(r.statusCode, 201, r.body);
    }
    t.ctx.clock.advance(31 * DAY);
    assert.equal((await expireConsents(t.ctx, { businessId: b.id })).pendingExpired, 2);

    const r = await t.call(
      'GET',
      `/v1/reports/events?from=${date(start)}&to=${date(start + 40 * DAY)}&bucket=week`,
      b.key,
    );
    assert.equal(r.statusCode, 200, r.body);
    const points = r.json().series[0].points as { optIns: number; optOuts: number; expirations: number }[];
    const sum = (k: 'optIns' | 'optOuts' | 'expirations') => points.reduce((a, p) => a + p[k], 0);
    assert.deepEqual([sum('optIns'), sum('optOuts'), sum('expirations')], [2, 0, 2]);
    const tot = (await t.call('GET', '/v1/reports/totals', b.key)).json();
    const delivery = tot.topics.find((x: { topic: string }) => x.topic === 'delivery');
    assert.deepEqual([delivery.optedIn, delivery.pending, delivery.optedOut, delivery.expired], [0, 0, 0, 2]);
  });
});
