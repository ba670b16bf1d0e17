import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { claimDue, insertEndpoint } from '../../../src/storage/webhooks/webhook-store.js';

// The delivery claim names one business per claiming statement (docs/scale-out.md) and shares the batch among the
// businesses with due work, so one business's backlog does not hold back another's delivery.
const NOW = 1_780_000_000_000;

forEachDialect('storage: webhook deliveries claimed business by business', (db) => {
  it("a batch of 4 takes a small business's due delivery beside a backlog of 10, then the rest in order", async () => {
    const q = db().db;
    const endpoint = (business_id: string) =>
      insertEndpoint(q, {
        business_id,
        id: 'whe_1',
        url: 'https://receiver.example/hook',
        description: null,
        event_types: '["consent.opted_out"]',
        include_phone: 0,
        secret_sealed: 'sealed',
        enabled: 1,
        disabled_reason: null,
        disabled_at: null,
        consecutive_failures: 0,
        failing_since: null,
        created_at: NOW,
        updated_at: NOW,
      });
    const delivery = (business_id: string, n: number, due: number) => ({
      business_id,
      id: `whd_${String(n).padStart(2, '0')}`,
      endpoint_id: 'whe_1',
      event_type: 'consent.opted_out',
      source_id: `evt_${n}`,
      person_id: null,
      payload: '{}',
      status: 'pending',
      attempts: 0,
      next_attempt_at: due,
      lease_until: null,
      last_attempt_at: null,
      last_status: null,
      last_error: null,
      created_at: due,
      delivered_at: null,
    });
    await endpoint('biz_big');
    await endpoint('biz_small');
    const backlog = Array.from({ length: 10 }, (_, i) => delivery('biz_big', i, NOW - 1000 + i));
    await q.insertInto('webhook_deliveries').values(backlog).execute();
    const small = [delivery('biz_small', 99, NOW - 10), delivery('biz_small', 98, NOW + 60_000)];
    await q.insertInto('webhook_deliveries').values(small).execute();

    const first = await claimDue(db(), NOW, NOW + 60_000, 4);
    const ids = (c: typeof first) => c.map((x) => `${x.delivery.business_id}/${x.delivery.id}`);
    assert.deepEqual(ids(first), ['biz_big/whd_00', 'biz_big/whd_01', 'biz_small/whd_99', 'biz_big/whd_02']);
    const second = await claimDue(db(), NOW, NOW + 60_000, 4);
    const next = ['biz_big/whd_03', 'biz_big/whd_04', 'biz_big/whd_05', 'biz_big/whd_06'];
    assert.deepEqual(ids(second), next, 'leased rows are not claimed again');
    const third = await claimDue(db(), NOW, NOW + 60_000, 4);
    const last = ['biz_big/whd_07', 'biz_big/whd_08', 'biz_big/whd_09'];
    assert.deepEqual(ids(third), last, 'a delivery not yet due stays');
    assert.deepEqual(await claimDue(db(), NOW, NOW + 60_000, 4), []);
  });
});
