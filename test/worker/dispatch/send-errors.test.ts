import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { createTopic } from '../../../src/services/admin/manage-topics.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import type { CloudClient } from '../../../src/channels/whatsapp-cloud/client.js';
import { MAX_ATTEMPTS, ENGAGEMENT_RETRY_MS } from '../../../src/worker/dispatch/retry-policy.js';
import { harness, sentFor } from './helpers.js';

const A = '+447911123456';
const B = '+447911123457';
const US = '+14155552671';

forEachDialect('dispatch worker: Meta errors', (db) => {
  it('130429: back to the queue with backoff, the number slowed; the retry goes through', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    const m = await h.queue(A);
    h.fake.failNext(A, 130429);
    const t0 = h.ctx.clock.now();
    await h.worker.tick();
    const r = await h.message(m.id);
    assert.equal(r.status, 'queued');
    assert.equal(r.errorCode, 'META_130429');
    assert.equal(r.attempts, 1);
    // 1 s pause + full jitter (random 0.5 of 2 s on the first try).
    assert.equal(r.notBefore, t0 + 1000 + 1000);
    assert.equal(await h.worker.tick(), 0, 'not before its time');
    h.ctx.clock.set(r.notBefore);
    await h.worker.tick();
    const s = await h.message(m.id);
    assert.equal(s.status, 'sent');
    assert.equal(s.attempts, 2);
    assert.equal(sentFor(h.fake, m.id).length, 1);
  });

  it('131056: only that recipient waits (1 s, then 4 s); other recipients go at once', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    await h.optIn(B);
    const a1 = await h.queue(A);
    const b1 = await h.queue(B);
    h.fake.failNext(A, 131056);
    await h.worker.tick();
    assert.equal((await h.message(b1.id)).status, 'sent');
    const ra = await h.message(a1.id);
    assert.equal(ra.status, 'queued');
    assert.equal(ra.errorCode, 'META_131056');
    assert.equal(ra.notBefore, ra.updatedAt + 1000, '4^0 s after the error');

    const a2 = await h.queue(A);
    const b2 = await h.queue(B);
    await h.worker.tick();
    assert.equal((await h.message(b2.id)).status, 'sent', 'B is not held up');
    const ra2 = await h.message(a2.id);
    assert.equal(ra2.status, 'queued', 'a new message to A waits for the penalty too');
    assert.equal(ra2.errorCode, 'RECIPIENT_PACED');
    assert.equal(ra2.attempts, 0);
    assert.equal(sentFor(h.fake, a2.id).length, 0);

    // The penalty grows while the errors repeat: 4 s the second time.
    h.ctx.clock.set(ra.notBefore);
    h.fake.failNext(A, 131056);
    h.fake.failNext(A, 131056);
    await h.worker.tick();
    const waits = await Promise.all(
      [a1, a2].map(async (m) => {
        const r = await h.message(m.id);
        return r.notBefore - r.updatedAt;
      }),
    );
    assert.deepEqual(
      waits.sort((x, y) => x - y),
      [4000, 16000],
    );
    h.ctx.clock.advance(16_000);
    await h.worker.tick();
    assert.equal((await h.message(a1.id)).status, 'sent');
    assert.equal((await h.message(a2.id)).status, 'sent');
  });

  it('5xx: retried with exponential backoff and full jitter until it succeeds', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    const m = await h.queue(A);
    h.fake.failNext(A, 131000);
    h.fake.failNext(A, 2);
    const t0 = h.ctx.clock.now();
    await h.worker.tick();
    const r1 = await h.message(m.id);
    assert.deepEqual([r1.status, r1.errorCode, r1.notBefore - t0], ['queued', 'META_131000', 1000]); // 0.5 × 2 s
    h.ctx.clock.set(r1.notBefore);
    await h.worker.tick();
    const r2 = await h.message(m.id);
    assert.deepEqual([r2.status, r2.errorCode, r2.notBefore - r1.notBefore], ['queued', 'META_2', 2000]); // 0.5 × 4 s
    h.ctx.clock.set(r2.notBefore);
    await h.worker.tick();
    const r3 = await h.message(m.id);
    assert.deepEqual([r3.status, r3.attempts, r3.errorCode], ['sent', 3, null]);
  });

  it(`a transient error that never ends fails the message after ${MAX_ATTEMPTS} tries`, async (t) => {
    const down: CloudClient = {
      send: async () => ({
        ok: false,
        httpStatus: 0,
        code: -1,
        title: 'Network error',
        details: 'ECONNREFUSED',
        classification: { code: -1, kind: 'transient', retryable: true, scope: 'message', description: 'x' },
      }),
    };
    const h = await harness(db(), { worker: { cloud: down } });
    t.after(() => h.close());
    await h.optIn(A);
    const m = await h.queue(A);
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      await h.worker.tick();
      h.ctx.clock.advance(16 * 60_000);
    }
    const r = await h.message(m.id);
    assert.deepEqual([r.status, r.errorCode, r.attempts], ['failed', 'NETWORK_ERROR', MAX_ATTEMPTS]);
    assert.match(r.errorDetail ?? '', /gave up after 10 tries/);
  });

  it('131047: failed NEEDS_TEMPLATE, never retried; a permanent error (132001) likewise', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    await h.optIn(B);
    const ma = await h.queue(A);
    const mb = await h.queue(B);
    h.fake.failNext(A, 131047);
    h.fake.failNext(B, 132001);
    await h.worker.tick();
    const [ra, rb] = [await h.message(ma.id), await h.message(mb.id)];
    assert.deepEqual([ra.status, ra.errorCode], ['failed', 'NEEDS_TEMPLATE']);
    assert.deepEqual([rb.status, rb.errorCode], ['failed', 'META_132001']);
    h.ctx.clock.advance(3_600_000);
    await h.worker.tick();
    assert.equal((await h.message(ma.id)).attempts, 1);
  });

  it('131026: failed UNREACHABLE and the person marked unreachable; consent untouched', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const { personId } = await h.optIn(A);
    const m = await h.queue(A);
    h.fake.failNext(A, 131026);
    await h.worker.tick();
    assert.deepEqual([(await h.message(m.id)).status, (await h.message(m.id)).errorCode], ['failed', 'UNREACHABLE']);
    const p = await db()
      .db.selectFrom('people')
      .select('unreachable_at')
      .where('business_id', '=', h.business.id)
      .where('id', '=', personId)
      .executeTakeFirstOrThrow();
    assert.equal(Number(p.unreachable_at), h.ctx.clock.now());
    const states = await db()
      .db.selectFrom('consent_state')
      .select('status')
      .where('business_id', '=', h.business.id)
      .where('person_id', '=', personId)
      .execute();
    assert.deepEqual(
      states.map((s) => s.status),
      ['opted_in'],
      'not an opt-out',
    );
    const next = await queueMessage(h.ctx, h.business.id, {
      person: { phone: A },
      topic: 'delivery',
      template: { name: 'x', language: 'en' },
    });
    assert.equal(next.outcome, 'refused');
    assert.deepEqual(
      next.decision.reasons.map((r) => r.code),
      ['UNREACHABLE'],
    );
  });

  it('131050: failed MARKETING_STOPPED and an opt-out of marketing recorded in the ledger; utility consent stays', async (t) => {
    const h = await harness(db(), { policy: { allowedCategories: ['utility', 'marketing'] } });
    t.after(() => h.close());
    await createTopic(h.ctx, h.business.id, { key: 'promos', name: 'promotions', category: 'marketing' });
    await h.ctx.database.db
      .updateTable('consent_texts')
      .set({ topic_keys: JSON.stringify(['delivery', 'billing', 'promos']) })
      .where('business_id', '=', h.business.id)
      .execute();
    const { personId } = await h.optIn(A, ['delivery', 'promos']);
    const m = await h.queue(A, 'promos');
    h.fake.failNext(A, 131050);
    await h.worker.tick();
    const r = await h.message(m.id);
    assert.deepEqual([r.status, r.errorCode], ['failed', 'MARKETING_STOPPED']);
    const ev = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', h.business.id)
      .where('person_id', '=', personId)
      .where('type', '=', 'opt_out')
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      [ev.scope, ev.channel, ev.action, ev.source_ref, ev.topic_keys],
      ['marketing', 'meta', 'provider_report', `meta-131050:${m.id}`, '["promos"]'],
    );
    const states = await db()
      .db.selectFrom('consent_state')
      .innerJoin('topics', (j) =>
        j
          .onRef('topics.business_id', '=', 'consent_state.business_id')
          .onRef('topics.id', '=', 'consent_state.topic_id'),
      )
      .select(['topics.key', 'consent_state.status'])
      .where('consent_state.business_id', '=', h.business.id)
      .where('consent_state.person_id', '=', personId)
      .orderBy('topics.key')
      .execute();
    assert.deepEqual(
      states.map((s) => `${s.key}:${s.status}`),
      ['delivery:opted_in', 'promos:opted_out'],
    );
  });

  it('131049: retried no sooner than 24 h, twice at most; never for US numbers', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    await h.optIn(US);
    const ma = await h.queue(A);
    const mu = await h.queue(US);
    h.fake.failNext(A, 131049);
    h.fake.failNext(US, 131049);
    const t0 = h.ctx.clock.now();
    await h.worker.tick();
    const ra = await h.message(ma.id);
    assert.equal(ra.status, 'queued');
    assert.ok(ra.notBefore >= t0 + ENGAGEMENT_RETRY_MS, 'a day at least');
    assert.deepEqual(
      [(await h.message(mu.id)).status, (await h.message(mu.id)).errorCode],
      ['failed', 'ENGAGEMENT_CAP'],
    );
    h.ctx.clock.set(ra.notBefore);
    h.fake.failNext(A, 131049);
    await h.worker.tick();
    const again = await h.message(ma.id);
    assert.deepEqual([again.status, again.errorCode, again.attempts], ['failed', 'ENGAGEMENT_CAP', 2]);
  });

  it('an account error (190) fails the message and pauses the number for a minute, not the whole queue', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await h.optIn(A);
    await h.optIn(B);
    const ma = await h.queue(A);
    h.fake.failNext(A, 190);
    await h.worker.tick();
    assert.deepEqual([(await h.message(ma.id)).status, (await h.message(ma.id)).errorCode], ['failed', 'META_190']);
    const mb = await h.queue(B);
    assert.equal(await h.worker.tick(), 0);
    assert.equal((await h.message(mb.id)).status, 'queued');
    h.ctx.clock.advance(61_000);
    await h.worker.tick();
    assert.equal((await h.message(mb.id)).status, 'sent');
  });

  it('observation 2: an opt-out that lands while the HTTP call is in flight: the message left before it, recorded as sent with its times; nothing later goes; the opt-out is acknowledged only once the call ended', async (t) => {
    let h!: Awaited<ReturnType<typeof harness>>;
    type OptOut = Awaited<ReturnType<typeof recordOptOut>>;
    let optOut: OptOut | null = null;
    let acknowledged: Promise<OptOut> | null = null;
    let callEnded = false;
    let acknowledgedBeforeCallEnded: boolean | null = null;
    const racing: CloudClient = {
      async send(pn, token, body) {
        h.ctx.clock.advance(5);
        // The opt-out arrives while this call is on its way: committed now, acknowledged when it returns.
        acknowledged = recordOptOut(h.ctx, h.business.id, {
          person: { phone: A },
          scope: 'all',
          channel: 'whatsapp',
          action: 'sent_keyword',
          evidence: { messageId: 'wamid.stop-race' },
          actor: 't',
        }).then((r) => {
          acknowledgedBeforeCallEnded = !callEnded;
          return (optOut = r);
        });
        // Counted tries, not a timed assertion: the call stays open until the opt-out has committed.
        let committed = false;
        for (let i = 0; i < 1000 && !committed; i++) {
          const ev = await h.ctx.database.db
            .selectFrom('consent_events')
            .select('id')
            .where('business_id', '=', h.business.id)
            .where('type', '=', 'opt_out')
            .executeTakeFirst();
          committed = ev !== undefined;
          if (!committed) await new Promise((r) => setTimeout(r, 5));
        }
        assert.ok(committed, 'the opt-out committed while the call was open');
        assert.equal(optOut, null, 'and is not acknowledged while the call is open');
        h.ctx.clock.advance(5);
        const sent = await h.cloud.send(pn, token, body);
        callEnded = true;
        return sent;
      },
    };
    h = await harness(db(), { worker: { cloud: racing } });
    t.after(() => h.close());
    await h.optIn(A);
    await h.dropConfirmations();
    const m = await h.queue(A);
    const startedAt = h.ctx.clock.now();
    await h.worker.tick();
    await acknowledged;
    assert.equal(acknowledgedBeforeCallEnded, false, 'acknowledged only after the call in flight ended');
    const r = await h.message(m.id);
    assert.equal(r.status, 'sent');
    assert.match(r.providerMessageId ?? '', /^wamid\./);
    // The opt-out found the call started: it did not cancel what had already left, and its count says so.
    assert.equal(optOut!.cancelledMessages, 0);
    assert.equal(r.errorCode, null);
    assert.equal(r.cancelledAt, null);
    assert.equal(r.callStartedAt, startedAt, 'the call started before the opt-out was recorded');
    assert.ok(r.callStartedAt! < optOut!.event.recorded_at);
    assert.equal(r.callEndedAt, startedAt + 10);
    assert.ok(r.claimedAt !== null && r.claimedAt <= r.callStartedAt!);
    assert.equal(h.worker.metrics().sentAfterCancel, 0);
    h.ctx.clock.advance(60_000);
    const next = await queueMessage(h.ctx, h.business.id, {
      person: { phone: A },
      topic: 'delivery',
      template: { name: 'x', language: 'en' },
    });
    assert.equal(next.outcome, 'refused');
  });
});
