import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildApp } from '../../../src/http/app.js';
import { applyStatusTx } from '../../../src/services/whatsapp/apply-message-status.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import type { CloudClient } from '../../../src/channels/whatsapp-cloud/client.js';
import { startDispatchWorker } from '../../../src/worker/dispatch/index.js';
import { harness, sentFor, WORKER_CONFIG, type WorkerHarness } from './helpers.js';

const A = '+447911123456';
const B = '+447911123457';

/** A worker that leases the person's messages and then hangs inside the HTTP call, as if its process died there. */
async function crashMidSend(h: WorkerHarness, messageIds: string[]) {
  const hang: CloudClient = { send: () => new Promise(() => {}) };
  const dying = startDispatchWorker({
    ctx: h.ctx,
    config: WORKER_CONFIG,
    cloud: hang,
    autoStart: false,
    workerId: 'wrk_dying',
  });
  void dying.tick();
  for (let i = 0; i < 200; i++) {
    const rows = await Promise.all(messageIds.map((id) => h.message(id)));
    // Its other messages (confirmations that fail before any HTTP call) have been settled.
    const held = await h.ctx.database.db
      .selectFrom('messages')
      .select('id')
      .where('lease_owner', '=', 'wrk_dying')
      .where('status', '=', 'sending')
      .execute();
    if (rows.every((r) => r.status === 'sending' && r.leaseOwner === 'wrk_dying') && held.length === messageIds.length)
      return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the dying worker never leased the messages');
}

forEachDialect('dispatch worker: leases, crashes, resolve', (db) => {
  it('an expired lease is never resent silently: unknown (IN_FLIGHT_AT_CRASH); a later status webhook settles it', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    const m = await h.queue(A);
    await crashMidSend(h, [m.id]);
    h.ctx.clock.advance(WORKER_CONFIG.leaseMs + 1);
    assert.equal(await h.worker.tick(), 0, 'the live worker does not take it');
    const r = await h.message(m.id);
    assert.deepEqual([r.status, r.errorCode], ['unknown', 'IN_FLIGHT_AT_CRASH']);
    assert.equal(sentFor(h.fake, m.id).length, 0);
    assert.equal(h.worker.metrics().reapedUnknown, 1);
    h.ctx.clock.advance(3_600_000);
    await h.worker.tick();
    assert.equal((await h.message(m.id)).status, 'unknown', 'still not resent');

    // Meta did get it: its status webhook names our id in biz_opaque_callback_data.
    await db().transaction((trx) =>
      applyStatusTx(
        h.ctx,
        trx,
        h.business.id,
        {
          kind: 'status',
          dedupeKey: 'wa:st:wamid.LATE:delivered',
          wabaId: 'w',
          phoneNumberId: 'p',
          messageId: 'wamid.LATE',
          status: 'delivered',
          timestampMs: h.ctx.clock.now(),
          bizOpaque: m.id,
          errors: [],
          raw: {},
        },
        h.ctx.clock.now(),
        h.ctx.clock.now(),
      ),
    );
    const settled = await h.message(m.id);
    assert.deepEqual([settled.status, settled.providerMessageId], ['delivered', 'wamid.LATE']);
  });

  it('GET ?status=unknown lists them; resolve retry re-queues through the gate, drop gives up, others get 409', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const app = await buildApp({
      ctx: h.ctx,
      config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 1 << 20, publicUrl: 'http://localhost:8080' },
    });
    t.after(() => app.close());
    const call = (method: 'GET' | 'POST', url: string, body?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${h.apiKey}` }, ...(body ? { payload: body } : {}) });

    await h.optIn(A);
    await h.optIn(B);
    const [ma, mb, mc] = [await h.queue(A), await h.queue(B), await h.queue(A, 'delivery')];
    await crashMidSend(h, [ma.id, mb.id, mc.id]);
    h.ctx.clock.advance(WORKER_CONFIG.leaseMs + 1);
    await h.worker.tick();

    const list = await call('GET', '/v1/messages?status=unknown');
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list
        .json()
        .data.map((m: { id: string }) => m.id)
        .sort(),
      [ma.id, mb.id, mc.id].sort(),
    );

    const retry = await call('POST', `/v1/messages/${ma.id}/resolve`, { action: 'retry' });
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.json().outcome, 'queued');
    assert.equal(retry.json().message.status, 'queued');
    await h.worker.tick();
    assert.equal((await h.message(ma.id)).status, 'sent');
    assert.equal(sentFor(h.fake, ma.id).length, 1);

    // B opted out since: the retry is refused by the gate.
    await recordOptOut(h.ctx, h.business.id, {
      person: { phone: B },
      scope: 'all',
      channel: 'whatsapp',
      action: 'sent_keyword',
      evidence: { messageId: 'wamid.stop' },
      actor: 't',
    });
    const refused = await call('POST', `/v1/messages/${mb.id}/resolve`, { action: 'retry' });
    assert.equal(refused.statusCode, 200);
    assert.deepEqual(
      [refused.json().outcome, refused.json().reasons, refused.json().message.status],
      ['refused', ['OPTED_OUT'], 'refused'],
    );

    const drop = await call('POST', `/v1/messages/${mc.id}/resolve`, { action: 'drop' });
    assert.deepEqual(
      [drop.json().outcome, drop.json().message.status, drop.json().message.errorCode],
      ['dropped', 'cancelled', 'DROPPED'],
    );

    const again = await call('POST', `/v1/messages/${mc.id}/resolve`, { action: 'retry' });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'CONFLICT');
    assert.equal(
      (await call('POST', '/v1/messages/msg_00000000000000000000000000/resolve', { action: 'drop' })).statusCode,
      404,
    );
    const bad = await call('POST', `/v1/messages/${mc.id}/resolve`, { action: 'resend' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
  });

  it('stop() drains: every leased message is sent and recorded before it resolves; nothing stays `sending`', async (t) => {
    const h = await harness(db(), { fake: { latencyMs: 30 } });
    t.after(() => h.close());
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const phone = `+4479111234${String(10 + i)}`;
      await h.optIn(phone);
      ids.push((await h.queue(phone)).id);
    }
    let claimed = 0;
    let leasedFirst!: () => void;
    const firstClaim = new Promise<void>((r) => (leasedFirst = r));
    const live = startDispatchWorker({
      ctx: h.ctx,
      config: { ...WORKER_CONFIG, concurrency: 4, defaultRatePerSecond: 10_000 },
      cloud: h.cloud,
      workerId: 'wrk_live',
      onClaim: (c) => {
        claimed += c.items.filter((i) => i.kind === 'notification').length;
        leasedFirst();
      },
    });
    await firstClaim;
    await live.stop();
    const rows = await Promise.all(ids.map((id) => h.message(id)));
    assert.equal(rows.filter((r) => r.status === 'sending').length, 0, 'no lease left behind');
    const sent = rows.filter((r) => r.status === 'sent').length;
    assert.ok(sent >= 1, 'what was leased was sent');
    assert.equal(h.fake.counts().accepted, claimed, 'every leased message went out, and nothing else');
    assert.equal(live.metrics().sent, claimed);
  });
});
