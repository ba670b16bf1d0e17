import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { forEachDialect } from '../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../helpers/whatsapp.js';
import { events, inboxRows, personBy } from '../helpers/whatsapp-people.js';
import { seedBusiness } from '../helpers/seed.js';
import { runSimulate, simulatedEnvelope } from '../../src/cli/commands/simulate.js';
import { SANDBOX_APP_SECRET, SANDBOX_PHONE_NUMBER_ID } from '../../src/channels/whatsapp-cloud/sandbox.js';
import { putWhatsAppChannel } from '../../src/services/admin/manage-whatsapp-channel.js';

function collector() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stream, text: () => text };
}

forEachDialect('optline simulate', (db) => {
  let t: WaTestApp;
  let url: string;
  let businessId: string;
  before(async () => {
    t = await buildWaTestApp(db());
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const b = await seedBusiness(t.ctx);
    businessId = b.business.id;
    // What `optline start` sets up for the demo business.
    await putWhatsAppChannel(t.ctx, businessId, {
      phoneNumberId: SANDBOX_PHONE_NUMBER_ID,
      accessToken: 'sandbox',
      appSecret: SANDBOX_APP_SECRET,
    });
  });
  after(async () => {
    await t.close();
  });

  it('sends a signed STOP to a running Optline and prints the request and the answer', async () => {
    const out = collector();
    const err = collector();
    const code = await runSimulate(
      { kind: 'text', text: 'STOP' },
      { url, from: '+447911123456', appSecret: SANDBOX_APP_SECRET },
      { out: out.stream, err: err.stream },
    );
    assert.equal(code, 0, err.text());
    assert.match(out.text(), new RegExp(`POST ${url}/webhooks/whatsapp`));
    assert.match(out.text(), /"phone_number_id": "sandbox-phone-number"/);
    assert.match(out.text(), /-> 200 \{"received":1,"stored":1\}/);
    await t.processor.drain();
    const person = (await personBy(t.ctx.database.db, businessId, 'phone_e164', '+447911123456'))!;
    assert.deepEqual(
      (await events(t.ctx.database.db, businessId, person.id)).map((e) => [e.type, e.action]),
      [['opt_out', 'sent_keyword']],
    );
  });

  it('a wrong app secret gets the 401 printed and exit code 1; an unreachable server a clear line', async () => {
    const out = collector();
    const code = await runSimulate(
      { kind: 'preference', value: 'stop' },
      { url, appSecret: 'wrong' },
      { out: out.stream, err: collector().stream },
    );
    assert.equal(code, 1);
    assert.match(out.text(), /-> 401 .*WEBHOOK_SIGNATURE_INVALID/);
    const err = collector();
    assert.equal(
      await runSimulate(
        { kind: 'text', text: 'hi' },
        { url: 'http://127.0.0.1:1', appSecret: 'x' },
        { out: collector().stream, err: err.stream },
      ),
      1,
    );
    assert.match(
      err.text(),
      /cannot reach http:\/\/127\.0\.0\.1:1\/webhooks\/whatsapp \([^)]+\): is Optline running\?/,
    );
    assert.doesNotMatch(err.text(), /database|PostgreSQL/);
  });

  it('builds button, list and preference envelopes the parser reads back as the same action', async () => {
    t.ctx.clock.advance(1000);
    const since = t.ctx.clock.now();
    for (const input of [
      { kind: 'button', payload: 'OPTOUT_MARKETING', label: 'Stop promotions' },
      { kind: 'list', id: 'optline:dismiss', title: 'No thanks' },
      { kind: 'preference', value: 'resume' },
    ] as const) {
      t.ctx.clock.advance(1000);
      const code = await runSimulate(
        input,
        { url, appSecret: SANDBOX_APP_SECRET },
        { out: collector().stream, err: collector().stream },
      );
      assert.equal(code, 0, input.kind);
    }
    await t.processor.drain();
    const rows = (await inboxRows(t.ctx.database.db, businessId)).filter((r) => Number(r.received_at) > since);
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['message', 'message', 'preference'],
    );
    assert.deepEqual(
      rows.map((r) => r.outcome),
      ['opted_out_marketing', 'dismissed', 'review_marketing_resumed'],
    );
    const bsuidOnly = simulatedEnvelope({ kind: 'text', text: 'hi' }, { phoneNumberId: 'P', userId: 'GB.abc' });
    const m = (bsuidOnly.entry[0]!.changes[0]!.value as { messages: Record<string, unknown>[] }).messages[0]!;
    assert.equal(m.from, undefined);
    assert.equal(m.from_user_id, 'GB.abc');
  });
});
