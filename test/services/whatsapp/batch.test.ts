import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, inboxRows, newNumber, personBy, replies } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import {
  batch,
  inboundButton,
  inboundText,
  randomWamid,
  statusUpdate,
  userPreference,
  type MetaEnvelope,
} from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { createInboxProcessor } from '../../../src/worker/inbox/processor.js';

/** Replaces the one message of an inbound envelope's first change with other fields (types the builders lack). */
function withMessage(env: MetaEnvelope, patch: Record<string, unknown>): MetaEnvelope {
  const value = env.entry[0]!.changes[0]!.value as { messages: Record<string, unknown>[] };
  const m = value.messages[0]!;
  delete m.text;
  Object.assign(m, patch);
  return env;
}

forEachDialect('WhatsApp webhook batches, retries and odd items', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  it('a batched envelope (2 numbers x several changes x messages, statuses, preferences) acts exactly once per item, however often it comes and however many processors run', async () => {
    // Two businesses on the platform's shared Meta app: only then may one POST carry both (one signature).
    const a = await t.business({ sharedApp: true });
    const b = await t.business({ sharedApp: true });
    const [p1, p2, p3] = [newNumber(), newNumber(), newNumber()];
    for (const [biz, p] of [
      [a, p1],
      [a, p2],
      [b, p3],
    ] as const) {
      await recordOptIn(t.ctx, biz.business.id, {
        person: { phone: p.e164 },
        topics: ['delivery', 'billing'],
        channel: 'web',
        action: 'checked_box',
        textHash: biz.text.hash,
        evidence: webEvidence,
        actor: 't',
      });
    }
    const conf = await t.ctx.database.db
      .selectFrom('messages')
      .select(['id', 'person_id'])
      .where('business_id', '=', a.business.id)
      .where('kind', '=', 'confirmation')
      .execute();
    const wamids = conf.map(() => randomWamid());
    for (const [i, c] of conf.entries())
      await t.ctx.database.db
        .updateTable('messages')
        .set({ status: 'sent', provider_message_id: wamids[i]! })
        .where('id', '=', c.id)
        .execute();
    t.ctx.clock.advance(1000);
    const now = t.ctx.clock.now();
    const envA = batch(
      inboundText({
        phoneNumberId: a.phoneNumberId,
        wabaId: 'WABA_A',
        from: p1.digits,
        text: 'STOP',
        timestampMs: now,
      }),
      inboundText({
        phoneNumberId: a.phoneNumberId,
        wabaId: 'WABA_A',
        from: p2.digits,
        text: 'hello there',
        timestampMs: now,
      }),
      statusUpdate({
        phoneNumberId: a.phoneNumberId,
        wabaId: 'WABA_A',
        messageId: wamids[0]!,
        status: 'delivered',
        timestampMs: now,
      }),
      statusUpdate({
        phoneNumberId: a.phoneNumberId,
        wabaId: 'WABA_A',
        messageId: wamids[1]!,
        status: 'read',
        timestampMs: now,
      }),
      userPreference({
        phoneNumberId: a.phoneNumberId,
        wabaId: 'WABA_A',
        waId: p2.digits,
        value: 'stop',
        timestampMs: now,
      }),
    );
    const envB = batch(
      inboundText({
        phoneNumberId: b.phoneNumberId,
        wabaId: 'WABA_B',
        from: p3.digits,
        text: 'BAJA',
        timestampMs: now,
      }),
      inboundButton({
        phoneNumberId: b.phoneNumberId,
        wabaId: 'WABA_B',
        from: p3.digits,
        payload: 'Stop promotions',
        text: 'Stop promotions',
        timestampMs: now,
      }),
    );
    const env: MetaEnvelope = { object: 'whatsapp_business_account', entry: [...envA.entry, ...envB.entry] };
    // Several changes inside one value too: two messages in one change.
    const first = env.entry[0]!.changes[0]!.value as { messages: unknown[]; contacts: unknown[] };
    const second = env.entry[0]!.changes.splice(1, 1)[0]!.value as { messages: unknown[]; contacts: unknown[] };
    first.messages.push(...second.messages);
    first.contacts.push(...second.contacts);

    const r = await t.post(env);
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().received, 7);
    // Meta retries (at-least-once), while the in-process path and two more processors work the same rows.
    const extra = [createInboxProcessor(t.ctx), createInboxProcessor(t.ctx)];
    await Promise.all([t.post(env), t.post(env), ...extra.map((p) => p.drain()), t.processor.drain()]);
    await t.processor.drain();

    const rows = [
      ...(await inboxRows(t.ctx.database.db, a.business.id)),
      ...(await inboxRows(t.ctx.database.db, b.business.id)),
    ];
    assert.equal(rows.length, 7, 'each item stored once');
    assert.ok(
      rows.every((row) => row.processed_at !== null),
      'each item processed',
    );
    assert.ok(
      rows.every((row) => Number(row.attempts) === 1),
      'each item processed by exactly one attempt',
    );

    const db_ = t.ctx.database.db;
    const pa1 = (await personBy(db_, a.business.id, 'phone_e164', p1.e164))!;
    const pa2 = (await personBy(db_, a.business.id, 'phone_e164', p2.e164))!;
    const pb3 = (await personBy(db_, b.business.id, 'phone_e164', p3.e164))!;
    // Each person: their opt-in, the confirmation's status (once) and their opt-out (once), whatever the order.
    assert.deepEqual((await events(db_, a.business.id, pa1.id)).map((e) => e.type).sort(), [
      'confirmation_sent',
      'opt_in',
      'opt_out',
    ]);
    assert.deepEqual((await events(db_, a.business.id, pa2.id)).map((e) => e.type).sort(), [
      'confirmation_sent',
      'opt_in',
      'opt_out',
    ]);
    assert.deepEqual(
      (await events(db_, b.business.id, pb3.id)).map((e) => [e.type, e.scope]),
      [
        ['opt_in', 'topics'],
        ['opt_out', 'all'],
        ['opt_out', 'marketing'],
      ],
    );
    assert.deepEqual(
      (await replies(db_, a.business.id, pa1.id)).map((x) => x.payload.purpose),
      ['optout_ack'],
    );
    assert.deepEqual(
      (await replies(db_, b.business.id, pb3.id)).map((x) => x.payload.language),
      ['es'],
    );
    for (const p of [...extra, t.processor]) await p.drain();
    await Promise.all(extra.map((p) => p.stop()));
  });

  it('an unknown phone_number_id is acknowledged and stored as unroutable, never processed', async () => {
    const n = newNumber();
    const r = await t.deliver(
      inboundText({ phoneNumberId: '999000111222333', from: n.digits, text: 'STOP', timestampMs: t.ctx.clock.now() }),
    );
    assert.equal(r.statusCode, 200);
    const rows = (await inboxRows(t.ctx.database.db, '')).filter((row) => row.payload.includes('999000111222333'));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.outcome, 'unroutable');
  });

  it('unknown message types and fields are stored and ignored, with a 200 (the window still opens)', async () => {
    const b = await t.business();
    const n = newNumber();
    const now = t.ctx.clock.now();
    const odd = [
      withMessage(inboundText({ phoneNumberId: b.phoneNumberId, from: n.digits, text: '', timestampMs: now }), {
        type: 'reaction',
        reaction: { message_id: 'wamid.X', emoji: '👍' },
      }),
      withMessage(inboundText({ phoneNumberId: b.phoneNumberId, from: n.digits, text: '', timestampMs: now }), {
        type: 'order',
        order: { catalog_id: '1', product_items: [] },
      }),
      withMessage(inboundText({ phoneNumberId: b.phoneNumberId, from: n.digits, text: '', timestampMs: now }), {
        type: 'unsupported',
        errors: [{ code: 131051, title: 'Message type unknown' }],
      }),
      withMessage(inboundText({ phoneNumberId: b.phoneNumberId, from: n.digits, text: '', timestampMs: now }), {
        type: 'hologram',
        hologram: { depth: 3 },
      }),
    ];
    for (const env of odd) assert.equal((await t.deliver(env)).statusCode, 200);
    const other = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'WABA',
          changes: [
            { field: 'message_template_status_update', value: { event: 'APPROVED', message_template_id: 1 } },
            { field: 'messages', value: { metadata: { phone_number_id: b.phoneNumberId }, messages: 'not-a-list' } },
          ],
        },
      ],
    };
    assert.equal((await t.deliver(other)).statusCode, 200);
    const rows = await inboxRows(t.ctx.database.db, b.business.id);
    // Four odd messages and the malformed change (it names the business's number): kept under the business, ignored.
    assert.deepEqual(
      rows.map((r) => r.outcome),
      ['ignored', 'ignored', 'ignored', 'ignored', 'ignored'],
    );
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.ok(person.last_inbound_at !== null);
    assert.equal((await events(t.ctx.database.db, b.business.id, person.id)).length, 0);
    const unrouted = (await inboxRows(t.ctx.database.db, '')).filter((r) => r.outcome === 'ignored');
    assert.ok(unrouted.length >= 1, 'the template update (no phone number) is kept too');
  });
});
