import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness } from '../../helpers/seed.js';
import { lockOrCreatePerson } from '../../../src/storage/consent/people-store.js';
import {
  findMessageByReceipt,
  findMessageForUpdate,
  insertMessage,
  toMessage,
} from '../../../src/storage/dispatch/outbox-store.js';

forEachDialect('storage: outbox store', (db) => {
  it("writes a message and finds it by id (locked) and by a receipt's provider id or our id", async () => {
    const ctx = testContext(db());
    const { business, topics } = await seedBusiness(ctx);
    const now = ctx.clock.now();
    const person = await db().transaction((trx) =>
      lockOrCreatePerson(trx, business.id, { phone: '+447911123456' }, now),
    );
    const row = await insertMessage(
      db().db,
      {
        businessId: business.id,
        personId: person.id,
        topicId: topics.delivery.id,
        kind: 'notification',
        payload: { template: { name: 't', language: 'en' }, requestHash: 'h' },
        notBefore: now,
      },
      now,
    );
    assert.equal(toMessage(row).status, 'queued');
    const locked = await db().transaction((trx) => findMessageForUpdate(trx, business.id, row.id));
    assert.equal(locked?.id, row.id);
    // A receipt for a send whose result was never stored: found by our id (biz_opaque_callback_data).
    assert.equal((await findMessageByReceipt(db().db, business.id, 'wamid.unknown', row.id, false))?.id, row.id);
    await db().db.updateTable('messages').set({ provider_message_id: 'wamid.1' }).where('id', '=', row.id).execute();
    const viaProvider = await db().transaction((trx) =>
      findMessageByReceipt(trx, business.id, 'wamid.1', undefined, true),
    );
    assert.equal(viaProvider?.id, row.id);
  });

  it("edge: another business's message, or an unknown id, is not found", async () => {
    const ctx = testContext(db());
    const { business, topics } = await seedBusiness(ctx);
    const other = await seedBusiness(ctx, { name: 'Other' });
    const now = ctx.clock.now();
    const person = await db().transaction((trx) =>
      lockOrCreatePerson(trx, business.id, { phone: '+447911123456' }, now),
    );
    const row = await insertMessage(
      db().db,
      {
        businessId: business.id,
        personId: person.id,
        topicId: topics.delivery.id,
        kind: 'notification',
        payload: { template: { name: 't', language: 'en' }, requestHash: 'h' },
        notBefore: now,
      },
      now,
    );
    assert.equal(await findMessageForUpdate(db().db, other.business.id, row.id), null);
    assert.equal(await findMessageByReceipt(db().db, business.id, 'wamid.none', 'msg_none', false), null);
  });
});
