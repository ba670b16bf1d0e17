// POST /v1/decisions/batch: the send gate for many recipients in one request. Each item gets the decision the single
// endpoint gives for it (one rule, two entry points), in the order asked, or its own problem naming the item; one
// business never sees another's people. On PostgreSQL the items' reads share statements: checked here against the
// answers of the single endpoint, asked one at a time.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';

const phone = (i: number) => `+4479111${String(40000 + i).padStart(5, '0')}`;

forEachDialect('HTTP API: decisions in batches', (db) => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp(db());
  });
  after(async () => {
    await t.app.close();
  });

  it('each item is decided as POST /v1/decisions decides it, in order; a bad item is its own problem', async () => {
    const b = await t.newBusiness('Batch Shop');
    for (let i = 0; i < 12; i++) {
      if (i % 4 === 3) continue; // never opted in
      const r = await t.call('POST', '/v1/opt-ins', b.key, {
        person: { phone: phone(i) },
        topics: i % 2 === 0 ? ['delivery'] : ['delivery', 'billing'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.textHash,
        evidence: WEB_EVIDENCE,
      });
      assert.equal(r.statusCode, 201, r.body);
      if (i % 5 === 1) {
        const out = await t.call('POST', '/v1/opt-outs', b.key, {
          person: { phone: phone(i) },
          scope: 'all',
          channel: 'web',
          action: 'clicked_link',
          evidence: {},
        });
        assert.ok(out.statusCode < 300, out.body);
      }
    }
    const items = Array.from({ length: 12 }, (_, i) => ({
      person: { phone: phone(i) },
      topic: i % 3 === 2 ? 'billing' : 'delivery',
    }));
    items.push({ person: { phone: 'not a number' }, topic: 'delivery' });
    items.push({ person: { phone: phone(0) }, topic: 'no-such-topic' });

    const batch = await t.call('POST', '/v1/decisions/batch', b.key, { items });
    assert.equal(batch.statusCode, 200, batch.body);
    const data = batch.json().data as { ok: boolean; decision?: unknown; code?: string; field?: string }[];
    assert.equal(data.length, items.length);
    const outcomes = new Set<string>();
    for (const [i, item] of items.entries()) {
      const single = await t.call('POST', '/v1/decisions', b.key, item);
      if (single.statusCode === 200) {
        assert.deepEqual(data[i], { ok: true, decision: single.json() }, `item ${i}`);
        outcomes.add(single.json().outcome);
      } else {
        assert.equal(data[i]!.ok, false, `item ${i}`);
        assert.equal(data[i]!.code, single.json().code, `item ${i}`);
        assert.match(data[i]!.field ?? '', new RegExp(`^items\\[${i}\\]\\.`));
      }
    }
    assert.deepEqual([...outcomes].sort(), ['allow', 'refuse'], 'the batch holds both outcomes');
    assert.equal(data[12]!.code, 'INVALID_PHONE');
    assert.equal(data[12]!.field, 'items[12].person.phone');
  });

  it("another business's batch sees none of these people; more than 500 items is refused whole", async () => {
    const a = await t.newBusiness('Owner');
    const other = await t.newBusiness('Other');
    const r = await t.call('POST', '/v1/opt-ins', a.key, {
      person: { phone: phone(90) },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: a.textHash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(r.statusCode, 201, r.body);
    const items = [{ person: { phone: phone(90) }, topic: 'delivery' }];
    const mine = (await t.call('POST', '/v1/decisions/batch', a.key, { items })).json().data;
    const theirs = (await t.call('POST', '/v1/decisions/batch', other.key, { items })).json().data;
    assert.equal(mine[0].decision.outcome, 'allow');
    assert.equal(theirs[0].decision.outcome, 'refuse');
    assert.equal(theirs[0].decision.personId, null, 'not even the person id of the other business');

    const tooMany = await t.call('POST', '/v1/decisions/batch', a.key, {
      items: Array.from({ length: 501 }, () => items[0]),
    });
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.json().code, 'VALIDATION_FAILED');
  });
});
