// A processing transaction takes several inbox items. They run first without a savepoint each (two round trips per
// item saved on PostgreSQL); when one throws, the whole transaction is rolled back and the batch runs again with a
// savepoint per item, so the failing item is set aside alone and the others take effect exactly once.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../helpers/whatsapp.js';
import { newNumber } from '../helpers/whatsapp-people.js';
import { inboundText } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { parseWebhook } from '../../src/channels/whatsapp-cloud/payload.js';
import { processInboxBatch } from '../../src/worker/inbox/processor.js';
import { insertInboxItems, type InboxRef } from '../../src/storage/whatsapp/inbox-store.js';

forEachDialect('inbox processing batches', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const rowsOf = (businessId: string) =>
    t.ctx.database.db
      .selectFrom('inbox')
      .select(['id', 'kind', 'outcome', 'attempts', 'processed_at'])
      .where('business_id', '=', businessId)
      .orderBy('id')
      .execute();

  it('an item that throws is set aside alone: the others of its batch take effect once, its attempt is counted', async () => {
    const b = await t.business();
    // Stored as the webhook stores them (not processed: no processor runs here).
    const stored = ['Where is my order?', 'And my refund?'].map((text) => {
      const parsed = parseWebhook(inboundText({ phoneNumberId: b.phoneNumberId, from: newNumber().digits, text }), {
        receivedAtMs: t.ctx.clock.now(),
      });
      assert.ok(parsed.ok);
      const item = parsed.items[0]!;
      return {
        businessId: b.business.id,
        provider: 'whatsapp_cloud',
        dedupeKey: item.dedupeKey,
        kind: item.kind,
        payload: item,
      };
    });
    // And an item its handler cannot apply (a quality notice without its fields: the insert it makes fails).
    await insertInboxItems(
      t.ctx.database.db,
      [
        stored[0]!,
        {
          businessId: b.business.id,
          provider: 'whatsapp_cloud',
          dedupeKey: 'broken-1',
          kind: 'quality',
          payload: { kind: 'quality' },
        },
        stored[1]!,
      ],
      t.ctx.clock.now(),
    );
    const pending = (await rowsOf(b.business.id)).filter((r) => r.processed_at === null);
    assert.equal(pending.length, 3);
    // The broken one in the middle of the batch.
    const broken = pending.find((r) => r.kind === 'quality')!;
    const messages = pending.filter((r) => r.kind === 'message');
    const refs: InboxRef[] = [messages[0]!, broken, messages[1]!].map((r) => ({
      businessId: b.business.id,
      id: r.id,
      kind: r.kind,
    }));

    // A transaction stops taking items after a few milliseconds: what it did not take goes in the next one.
    const all = async () => {
      for (let i = 0; i < refs.length;) i += await processInboxBatch(t.ctx, refs.slice(i));
    };
    await all();

    const after1 = new Map((await rowsOf(b.business.id)).map((r) => [r.id, r]));
    for (const m of messages) {
      const row = after1.get(m.id)!;
      assert.notEqual(row.processed_at, null, 'the good items were processed');
      assert.equal(Number(row.attempts), 1, 'once');
    }
    const bad = after1.get(broken.id)!;
    assert.equal(bad.processed_at, null, 'the broken item stays for a later try');
    assert.equal(bad.outcome, 'retry');
    assert.equal(Number(bad.attempts), 1, 'its attempt is counted');

    // Run again: the processed ones are not taken twice, the broken one counts a second attempt.
    await all();
    const after2 = new Map((await rowsOf(b.business.id)).map((r) => [r.id, r]));
    for (const m of messages) assert.equal(Number(after2.get(m.id)!.attempts), 1);
    assert.equal(Number(after2.get(broken.id)!.attempts), 2);
  });
});
