import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { events, newNumber, personBy, replies } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import {
  batch,
  inboundInteractive,
  inboundText,
  randomWamid,
  statusUpdate,
  userPreference,
  type MetaEnvelope,
} from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { parseWebhook } from '../../../src/channels/whatsapp-cloud/payload.js';
import { createInboxProcessor } from '../../../src/worker/inbox/processor.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { storeWhatsAppWebhook } from '../../../src/services/whatsapp/store-webhook.js';
import { optOutAllReplyId } from '../../../src/domain/chat/actions.js';
import type { InboxRef } from '../../../src/storage/whatsapp/inbox-store.js';

const STATUSES = 2000;

function itemsOf(env: MetaEnvelope) {
  const r = parseWebhook(JSON.parse(JSON.stringify(env)));
  assert.ok(r.ok);
  return r.items;
}

forEachDialect('WhatsApp: people before status receipts, opt-outs at the acknowledgement', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });
  // storeWhatsAppWebhook as the route calls it once a signature chose the owner: each test number routed to its
  // business.
  const routes = new Map<string, string>();
  const store = (items: ReturnType<typeof itemsOf>) => storeWhatsAppWebhook(t.ctx, items, routes);
  const business = async (o?: Parameters<WaTestApp['business']>[0]) => {
    const b = await t.business(o);
    routes.set(b.phoneNumberId, b.business.id);
    return b;
  };

  const count = async (businessId: string, where: 'status_done' | 'all_done') => {
    let q = t.ctx.database.db
      .selectFrom('inbox')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('business_id', '=', businessId)
      .where('attempts', '>', 0);
    if (where === 'status_done') q = q.where('kind', '=', 'status');
    return Number((await q.executeTakeFirstOrThrow()).n);
  };

  /** Stores 2,000 status receipts (for messages not known yet, so each is a real attempt) in POSTs of 100. */
  async function storeStatusFlood(phoneNumberId: string): Promise<InboxRef[]> {
    const refs: InboxRef[] = [];
    const now = t.ctx.clock.now();
    for (let i = 0; i < STATUSES; i += 100) {
      const env = batch(
        ...Array.from({ length: 100 }, () =>
          statusUpdate({ phoneNumberId, messageId: randomWamid(), status: 'delivered', timestampMs: now }),
        ),
      );
      refs.push(...(await store(itemsOf(env))).fresh);
    }
    return refs;
  }

  it('a message stored after 2,000 status receipts is processed before most of them (counted by processed items)', async () => {
    const b = await business();
    const p = newNumber();
    const flood = await storeStatusFlood(b.phoneNumberId);
    const help = await store(
      itemsOf(
        inboundText({ phoneNumberId: b.phoneNumberId, from: p.digits, text: 'HELP', timestampMs: t.ctx.clock.now() }),
      ),
    );
    assert.equal(help.fresh.length, 1);
    const processor = createInboxProcessor(t.ctx);
    try {
      // Handed over in arrival order, statuses first, as the webhook route would have.
      processor.enqueue(flood);
      processor.enqueue(help.fresh);
      let statusesBefore = -1;
      // Bounded: each turn lets at least one processing transaction run.
      for (let i = 0; i < 10_000 && statusesBefore < 0; i++) {
        const person = await personBy(t.ctx.database.db, b.business.id, 'phone_e164', p.e164);
        if (
          person &&
          (await replies(t.ctx.database.db, b.business.id, person.id)).some((r) => r.payload.purpose === 'help')
        )
          statusesBefore = await count(b.business.id, 'status_done');
        else await new Promise((r) => setImmediate(r));
      }
      assert.ok(statusesBefore >= 0, 'the HELP was answered');
      assert.ok(
        statusesBefore < STATUSES / 10,
        `the HELP went before most statuses (${statusesBefore} of ${STATUSES} processed before it)`,
      );
      await processor.drain();
      assert.equal(await count(b.business.id, 'status_done'), STATUSES, 'the statuses are all processed after');
    } finally {
      await processor.stop();
    }
  });

  it("the recovery pass takes people's items before statuses too", async () => {
    const b = await business();
    const p = newNumber();
    await storeStatusFlood(b.phoneNumberId);
    await store(
      itemsOf(
        inboundText({ phoneNumberId: b.phoneNumberId, from: p.digits, text: 'HELP', timestampMs: t.ctx.clock.now() }),
      ),
    );
    // One pass of at most 50 rows per kind: the HELP is among them although 2,000 statuses are older.
    const processor = createInboxProcessor(t.ctx, { batchSize: 50 });
    try {
      await processor.runOnce({ graceMs: 0 });
      const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', p.e164))!;
      assert.deepEqual(
        (await replies(t.ctx.database.db, b.business.id, person.id)).map((r) => r.payload.purpose),
        ['help'],
      );
      assert.ok((await count(b.business.id, 'status_done')) <= 50);
    } finally {
      await processor.stop();
    }
  });

  it('a STOP stored behind 2,000 status receipts is an opt-out when its POST is stored, before any processing; the processor then only answers it, once', async () => {
    const b = await business();
    const p = newNumber();
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: p.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    const flood = await storeStatusFlood(b.phoneNumberId);
    const stop = await store(
      itemsOf(
        inboundText({ phoneNumberId: b.phoneNumberId, from: p.digits, text: 'stop', timestampMs: t.ctx.clock.now() }),
      ),
    );
    assert.equal(stop.stored, 1);
    assert.equal(
      stop.fresh.length,
      0,
      'nothing left for the processor: the STOP was handled in the acknowledging transaction',
    );
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', p.e164))!;
    const ev = await events(t.ctx.database.db, b.business.id, person.id);
    assert.deepEqual(
      ev.map((e) => [e.type, e.scope]),
      [
        ['opt_in', 'topics'],
        ['opt_out', 'all'],
      ],
    );
    assert.equal(await count(b.business.id, 'status_done'), 0, 'no status was processed yet');
    const states = await t.ctx.database.db
      .selectFrom('consent_state')
      .select('status')
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', person.id)
      .execute();
    assert.ok(states.length > 0 && states.every((s) => s.status === 'opted_out'));
    // The opt-in's confirmation was queued and had not left: cancelled in the same transaction.
    const open = await t.ctx.database.db
      .selectFrom('messages')
      .select('status')
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', person.id)
      .where('kind', '<>', 'reply')
      .execute();
    assert.ok(open.length > 0 && open.every((m) => m.status === 'cancelled'), 'everything queued to them is cancelled');
    // The usual acknowledgement is queued once; processing the backlog (and Meta's redelivery) records nothing more.
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, person.id)).map((r) => r.payload.purpose),
      ['optout_ack'],
    );
    const again = await store(
      itemsOf(
        inboundText({
          phoneNumberId: b.phoneNumberId,
          from: p.digits,
          text: 'stop',
          timestampMs: t.ctx.clock.now(),
          id: (ev[1]!.source_ref ?? '').replace('wa:msg:', ''),
        }),
      ),
    );
    assert.equal(again.stored, 0);
    assert.equal(flood.length, STATUSES);
    const processor = createInboxProcessor(t.ctx, { batchSize: 20 });
    await processor.runOnce({ graceMs: 0 });
    await processor.stop();
    assert.equal((await events(t.ctx.database.db, b.business.id, person.id)).length, 2);
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, person.id)).map((r) => r.payload.purpose),
      ['optout_ack'],
    );
  });

  it("opt-out buttons, list replies and Meta's marketing setting are opt-outs at the acknowledgement; START, HELP and plain text are not", async () => {
    const b = await business({ policy: { keywords: { extra: { optOut: ['PARAR YA'] } } } as never });
    const [p1, p2, p3, p4] = [newNumber(), newNumber(), newNumber(), newNumber()];
    const now = t.ctx.clock.now();
    const env = batch(
      inboundInteractive({
        phoneNumberId: b.phoneNumberId,
        from: p1.digits,
        replyType: 'button_reply',
        id: optOutAllReplyId(),
        title: 'Stop all',
        timestampMs: now,
      }),
      userPreference({ phoneNumberId: b.phoneNumberId, waId: p2.digits, value: 'stop', timestampMs: now }),
      inboundText({ phoneNumberId: b.phoneNumberId, from: p3.digits, text: 'parar ya!', timestampMs: now }),
      inboundText({ phoneNumberId: b.phoneNumberId, from: p4.digits, text: 'HELP', timestampMs: now }),
      inboundText({ phoneNumberId: b.phoneNumberId, from: p4.digits, text: "don't stop my order", timestampMs: now }),
    );
    const r = await store(itemsOf(env));
    assert.equal(r.stored, 5);
    assert.equal(r.fresh.length, 2, 'HELP and the mention are left to the processor');
    const scopes = async (p: { e164: string }) => {
      const person = await personBy(t.ctx.database.db, b.business.id, 'phone_e164', p.e164);
      return person ? (await events(t.ctx.database.db, b.business.id, person.id)).map((e) => e.scope) : [];
    };
    assert.deepEqual(await scopes(p1), ['all']);
    assert.deepEqual(await scopes(p2), ['marketing']);
    assert.deepEqual(
      await scopes(p3),
      ['all'],
      "a business's own opt-out keyword, read from its settings in the transaction",
    );
    assert.deepEqual(await scopes(p4), []);

    // A keyword added by another process (a direct write, as another process's API would make) counts at once.
    const policy = JSON.parse(
      (
        await t.ctx.database.db
          .selectFrom('businesses')
          .select('policy')
          .where('id', '=', b.business.id)
          .executeTakeFirstOrThrow()
      ).policy,
    );
    policy.keywords = { extra: { optOut: ['PARAR YA', 'BASTA YA'] } };
    await t.ctx.database.db
      .updateTable('businesses')
      .set({ policy: JSON.stringify(policy) })
      .where('id', '=', b.business.id)
      .execute();
    const p5 = newNumber();
    const r2 = await store(
      itemsOf(inboundText({ phoneNumberId: b.phoneNumberId, from: p5.digits, text: 'Basta ya', timestampMs: now })),
    );
    assert.equal(r2.fresh.length, 0);
    assert.deepEqual(await scopes(p5), ['all']);
  });
});
