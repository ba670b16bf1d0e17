// A body Meta signed is never answered 5xx (Meta would retry it for 7 days): strings a database cannot store are
// cleaned, overlong ones cut, and the stored items say so. Only nesting no webhook has is refused, with a 400.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildWaTestApp, SHARED_SECRET, type WaTestApp } from '../helpers/whatsapp.js';
import { inboxRows, newNumber, personBy } from '../helpers/whatsapp-people.js';
import { inboundText, metaJson, statusUpdate } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../../src/channels/whatsapp-cloud/signature.js';

forEachDialect('WhatsApp webhook: hostile strings and shapes', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  it('NUL characters and lone surrogates in ids, names and text are stored cleaned and flagged, with a 200', async () => {
    const b = await t.business();
    const n = newNumber();
    const env = inboundText({
      phoneNumberId: b.phoneNumberId,
      from: n.digits,
      text: 'hi\u0000 there \uD800',
      timestampMs: t.ctx.clock.now(),
      profileName: 'Ann\u0000\uDC00',
    });
    const m = (env.entry[0]!.changes[0]!.value as { messages: { id: string }[] }).messages[0]!;
    m.id = `wamid.\u0000${m.id}`;
    const r = await t.deliver(env);
    assert.equal(r.statusCode, 200, r.body);
    const rows = await inboxRows(t.ctx.database.db, b.business.id);
    const row = rows.find((x) => x.payload.includes('hi there'));
    assert.ok(row, 'stored with the text cleaned');
    assert.ok(!row.payload.includes('\\u0000'), 'no NUL stored');
    assert.ok(!row.dedupe_key.includes('\u0000'));
    assert.ok((JSON.parse(row.payload) as { inputNotes?: string[] }).inputNotes?.length, 'flagged');
    assert.ok(
      await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164),
      'still processed: the person wrote to us',
    );
    // A retry of the same body is recognised as the same item.
    const again = await t.deliver(env);
    assert.equal(again.json().stored, 0);
  });

  it('a NUL in a phone_number_id is a number nobody owns: refused unless the shared app signed it, and then unroutable', async () => {
    const env = inboundText({
      phoneNumberId: '1065\u00004035',
      from: newNumber().digits,
      text: 'STOP',
      timestampMs: t.ctx.clock.now(),
    });
    const r = await t.deliver(env);
    assert.equal(r.statusCode, 200, r.body);
    const rows = (await inboxRows(t.ctx.database.db, '')).filter((x) => x.payload.includes('10654035'));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.outcome, 'unroutable');
  });

  it('a 1 MB message id and a 1 MB status id are stored bounded (recognisable, distinct), with a 200', async () => {
    const b = await t.business();
    const huge = (c: string) => `wamid.${c.repeat(1024 * 1024)}`;
    const env = inboundText({
      phoneNumberId: b.phoneNumberId,
      from: newNumber().digits,
      text: 'hello',
      timestampMs: t.ctx.clock.now(),
    });
    (env.entry[0]!.changes[0]!.value as { messages: { id: string }[] }).messages[0]!.id = huge('A');
    const st = statusUpdate({
      phoneNumberId: b.phoneNumberId,
      messageId: huge('B'),
      status: 'delivered',
      timestampMs: t.ctx.clock.now(),
    });
    for (const e of [env, st]) {
      const r = await t.deliver(e);
      assert.equal(r.statusCode, 200, r.body.slice(0, 300));
    }
    const rows = await inboxRows(t.ctx.database.db, b.business.id);
    assert.equal(rows.length, 2);
    for (const row of rows) assert.ok(row.dedupe_key.length <= 260, `bounded key (${row.dedupe_key.length})`);
    assert.notEqual(rows[0]!.dedupe_key, rows[1]!.dedupe_key);
  });

  it('nesting no webhook has (20,000 arrays deep, inside entry), even validly signed, is a 400 and nothing is stored; no 5xx', async () => {
    const before = (await inboxRows(t.ctx.database.db)).length;
    const raw = `{"object":"whatsapp_business_account","entry":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const r = await t.app.inject({
      method: 'POST',
      url: '/webhooks/whatsapp',
      payload: raw,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, SHARED_SECRET) },
    });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().code, 'VALIDATION_FAILED');
    assert.equal((await inboxRows(t.ctx.database.db)).length, before);
    // Deep evidence-like objects in a message are refused the same way.
    const env = metaJson(inboundText({ phoneNumberId: '1', from: '1', text: 'x', timestampMs: 1 }));
    const raw2 = `${env.slice(0, -1)},"extra":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const r2 = await t.app.inject({
      method: 'POST',
      url: '/webhooks/whatsapp',
      payload: raw2,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw2, SHARED_SECRET) },
    });
    assert.equal(r2.statusCode, 400);
  });
});
