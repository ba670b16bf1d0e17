import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { forEachDialect } from '../../helpers/db.js';
import { buildTestApp, WEB_EVIDENCE, type TestApp } from '../../helpers/http.js';
import { createEndpoint } from '../../../src/services/webhooks-out/manage-endpoints.js';
import { runWebhookPass } from '../../../src/worker/webhooks/delivery-worker.js';
import { insertReviewItem } from '../../../src/storage/whatsapp/review-store.js';

const open: (() => Promise<void>)[] = [];

/** A real receiver on loopback: records every request; `fail` decides the answer (status) per request. */
interface Received {
  id: string;
  ts: string;
  sig: string;
  body: string;
  path: string;
}
async function receiver(answer: (n: number, path: string) => { status: number; headers?: Record<string, string> }) {
  const got: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const h = req.headers;
      got.push({
        id: String(h['webhook-id']),
        ts: String(h['webhook-timestamp']),
        sig: String(h['webhook-signature']),
        body: Buffer.concat(chunks).toString(),
        path: req.url ?? '',
      });
      const a = answer(n++, req.url ?? '');
      res.writeHead(a.status, a.headers ?? {}).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  open.push(close);
  return { got, url, close };
}

/** The receiver's check, with the reference library: full verify (timestamp tolerance included) when asked. */
function verified(r: Received, secret: string, full: boolean): { type: string; data: Record<string, unknown> } {
  const wh = new Webhook(secret);
  if (full)
    return wh.verify(r.body, { 'webhook-id': r.id, 'webhook-timestamp': r.ts, 'webhook-signature': r.sig }) as never;
  // The injected clock is hours ahead of the wall clock here: check the signature itself, as the library makes it.
  assert.equal(wh.sign(r.id, new Date(Number(r.ts) * 1000), r.body), r.sig, 'signature matches');
  return JSON.parse(r.body) as never;
}

const dedupe = (rs: Received[]) => [...new Map(rs.map((r) => [r.id, r])).values()];

forEachDialect('consent webhooks out', (db) => {
  let t: TestApp;
  const opts = { allowPrivate: true, random: () => 0.5 };
  before(async () => {
    t = await buildTestApp(db());
  });
  after(async () => {
    await t.app.close();
    await Promise.all(open.splice(0).map((c) => c()));
  });

  async function events(b: { key: string; textHash: string }, phones: string[]) {
    for (const phone of phones) {
      const r = await t.call('POST', '/v1/opt-ins', b.key, {
        person: { phone },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.textHash,
        evidence: WEB_EVIDENCE,
      });
      assert.equal(r.statusCode, 201, r.body);
    }
    const out = await t.call('POST', '/v1/opt-outs', b.key, {
      person: { phone: phones[0] },
      scope: 'all',
      channel: 'api',
      action: 'staff_request',
      evidence: { ticket: 'T-1' },
    });
    assert.equal(out.statusCode, 201, out.body);
  }
  async function drain(maxPasses: number, stepMs: number): Promise<number> {
    let passes = 0;
    for (; passes < maxPasses; passes++) {
      const pending = await t.ctx.database.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .execute();
      if (pending.length === 0) break;
      await runWebhookPass(t.ctx, opts);
      t.ctx.clock.advance(stepMs);
    }
    return passes;
  }

  it('each consent change reaches each subscribed endpoint exactly once after retries, signed (reference library), phone only where opted in', async () => {
    t.ctx.clock.set(Date.now()); // so the library's timestamp tolerance holds for this test
    const rx = await receiver((n) => ({ status: n < 2 ? 500 : 200 }));
    const b = await t.newBusiness();
    const all = await createEndpoint(
      t.ctx,
      b.id,
      { url: `${rx.url}/all`, eventTypes: ['opt_in', 'opt_out', 'confirmation', 'erasure'], includePhone: true },
      opts,
    );
    const outs = await createEndpoint(t.ctx, b.id, { url: `${rx.url}/outs`, eventTypes: ['opt_out'] }, opts);
    assert.match(all.secret, /^whsec_/);
    await events(b, ['+447911123401', '+447911123402']);
    const queued = await t.ctx.database.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('business_id', '=', b.id)
      .execute();
    assert.equal(queued.filter((d) => d.endpoint_id === all.id).length, 3);
    assert.equal(queued.filter((d) => d.endpoint_id === outs.id).length, 1);
    assert.ok((await drain(10, 45_000)) < 10, 'drained');
    assert.ok(rx.got.length >= 6, 'two failures, then every delivery');
    const byPath = (p: string) => dedupe(rx.got.filter((r) => r.path === p && rx.got.indexOf(r) >= 2));
    const allGot = byPath('/all').map((r) => verified(r, all.secret, true));
    const outsGot = byPath('/outs').map((r) => verified(r, outs.secret, true));
    assert.deepEqual(allGot.map((x) => x.type).sort(), ['consent.opt_in', 'consent.opt_in', 'consent.opt_out']);
    assert.deepEqual(
      outsGot.map((x) => x.type),
      ['consent.opt_out'],
    );
    assert.equal(allGot.find((x) => x.type === 'consent.opt_out')!.data.phone, '+447911123401');
    assert.equal(outsGot[0]!.data.phone, undefined, 'no number unless the endpoint opted in');
    const ids = new Set(queued.map((d) => d.id));
    assert.deepEqual(new Set(dedupe(rx.got).map((r) => r.id)), ids, 'every queued delivery arrived, nothing else');
    const log = await t.call('GET', `/v1/webhook-endpoints/${all.id}/deliveries`, b.key);
    assert.equal(log.statusCode, 200, log.body);
    assert.ok(log.json().data.every((d: { status: string }) => d.status === 'delivered'));
    await rx.close();
  });

  it('a receiver down for an hour (injected clock) gets everything after, each once', async () => {
    let down = true;
    const rx = await receiver(() => ({ status: down ? 503 : 204 }));
    const b = await t.newBusiness();
    const ep = await createEndpoint(t.ctx, b.id, { url: rx.url, eventTypes: ['opt_in', 'opt_out'] }, opts);
    await events(b, ['+447911123411', '+447911123412']);
    const start = t.ctx.clock.now();
    let passes = 0;
    while (t.ctx.clock.now() - start < 3600_000 && passes++ < 100) {
      await runWebhookPass(t.ctx, opts);
      t.ctx.clock.advance(60_000);
    }
    await events(b, ['+447911123413']);
    assert.ok(rx.got.length > 3, 'retried during the hour');
    const failedCount = rx.got.length;
    down = false;
    assert.ok((await drain(200, 5 * 60_000)) < 200, 'drained');
    const after = dedupe(rx.got.slice(failedCount));
    assert.equal(after.length, 5, 'three opt-ins and two opt-outs, those of the hour and the late ones');
    for (const r of after) verified(r, ep.secret, false);
    const ep2 = (await t.call('GET', `/v1/webhook-endpoints/${ep.id}`, b.key)).json();
    assert.equal(ep2.enabled, true);
    assert.equal(ep2.consecutiveFailures, 0);
    await rx.close();
  });

  it('replays one delivery and a time range with the same webhook-id', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    const b = await t.newBusiness();
    const ep = await createEndpoint(t.ctx, b.id, { url: rx.url, eventTypes: ['opt_in', 'opt_out'] }, opts);
    const from = new Date(t.ctx.clock.now()).toISOString();
    await events(b, ['+447911123421']);
    await drain(5, 1000);
    assert.equal(rx.got.length, 2);
    const one = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/replay`, b.key, { deliveryId: rx.got[0]!.id });
    assert.equal(one.statusCode, 202, one.body);
    assert.equal(one.json().requeued, 1);
    await drain(5, 1000);
    assert.equal(rx.got.length, 3);
    assert.equal(rx.got[2]!.id, rx.got[0]!.id);
    const range = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/replay`, b.key, { from });
    assert.equal(range.json().requeued, 2);
    await drain(5, 1000);
    assert.equal(rx.got.length, 5);
    const missing = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/replay`, b.key, { deliveryId: 'nope' });
    assert.equal(missing.statusCode, 404);
    await rx.close();
  });

  it('an endpoint failing for 3 days is disabled and shown with the reason; nothing more is sent to it', async () => {
    const rx = await receiver(() => ({ status: 500 }));
    const b = await t.newBusiness();
    const ep = await createEndpoint(t.ctx, b.id, { url: rx.url, eventTypes: ['opt_in', 'opt_out'] }, opts);
    await events(b, ['+447911123431']);
    await drain(200, 3600_000);
    const got = (await t.call('GET', `/v1/webhook-endpoints/${ep.id}`, b.key)).json();
    assert.equal(got.enabled, false);
    assert.match(got.disabledReason, /failing continuously for 3 days|consecutive failed/);
    const log = (await t.call('GET', `/v1/webhook-endpoints/${ep.id}/deliveries`, b.key)).json().data;
    assert.ok(log.every((d: { status: string }) => d.status === 'failed'));
    const sent = rx.got.length;
    await events(b, ['+447911123432']);
    await runWebhookPass(t.ctx, opts);
    assert.equal(rx.got.length, sent, 'a disabled endpoint gets nothing');
    const re = await t.call('PATCH', `/v1/webhook-endpoints/${ep.id}`, b.key, { enabled: true });
    assert.equal(re.json().enabled, true);
    assert.equal(re.json().disabledReason, null);
    await rx.close();
  });

  it('refuses private, loopback and link-local targets at registration and at delivery; follows no redirect', async () => {
    const b = await t.newBusiness();
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://localhost/x',
      'http://169.254.169.254/latest',
      'http://[::1]/x',
      'http://10.0.0.5/x',
      'ftp://example.com/x',
      'https://u:p@example.com/x',
    ]) {
      const r = await t.call('POST', '/v1/webhook-endpoints', b.key, { url, eventTypes: ['opt_out'] });
      assert.equal(r.statusCode, 422, `${url}: ${r.body}`);
      assert.equal(r.json().code, 'WEBHOOK_TARGET_REFUSED');
    }
    assert.equal((await t.call('GET', '/v1/webhook-endpoints', b.key)).json().data.length, 0, 'nothing registered');
    const ok = await t.call('POST', '/v1/webhook-endpoints', b.key, {
      url: 'https://93.184.215.14/hooks',
      eventTypes: ['opt_out'],
      description: 'CRM',
    });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.match(ok.json().secret, /^whsec_/);
    assert.equal(
      (await t.call('GET', `/v1/webhook-endpoints/${ok.json().id}`, b.key)).json().secret,
      undefined,
      'the secret is shown once',
    );
    await t.call('DELETE', `/v1/webhook-endpoints/${ok.json().id}`, b.key);
    const bad = await t.call('POST', '/v1/webhook-endpoints', b.key, {
      url: 'https://93.184.215.14/hooks',
      eventTypes: ['nope'],
    });
    assert.equal(bad.statusCode, 400);

    // Registered while private targets were allowed, delivered by a worker that does not allow them.
    const rx = await receiver(() => ({ status: 200 }));
    const target = rx.url.replace('127.0.0.1', 'localhost');
    const rx2 = await receiver(() => ({ status: 302, headers: { location: `${rx.url}/moved` } }));
    const ep = await createEndpoint(t.ctx, b.id, { url: target, eventTypes: ['opt_out'] }, opts);
    const redirecting = await createEndpoint(t.ctx, b.id, { url: rx2.url, eventTypes: ['opt_out'] }, opts);
    await events(b, ['+447911123441']);
    await runWebhookPass(t.ctx, { ...opts, allowPrivate: false });
    assert.equal(rx.got.length, 0, 'refused at delivery (DNS resolved and checked)');
    const logR = await t.call('GET', `/v1/webhook-endpoints/${ep.id}/deliveries`, b.key);
    const log = logR.json().data;
    assert.equal(log.length, 1, logR.body);
    assert.match(log[0].lastError, /private, loopback or link-local/);
    t.ctx.clock.advance(3600_000);
    await runWebhookPass(t.ctx, opts);
    assert.equal(
      rx2.got.length,
      1,
      'the redirecting receiver was asked (once private targets were allowed), its redirect never followed',
    );
    assert.equal(rx.got.filter((r) => r.path === '/moved').length, 0);
    const rlog = (await t.call('GET', `/v1/webhook-endpoints/${redirecting.id}/deliveries`, b.key)).json().data;
    assert.equal(rlog[0].lastStatus, 302);
    assert.equal(rlog[0].status, 'pending');
    await rx.close();
    await rx2.close();
  });
  it('review items are reported in the transaction that creates them; another business sees none of it', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    const b = await t.newBusiness();
    const other = await t.newBusiness();
    const ep = await createEndpoint(t.ctx, b.id, { url: rx.url, eventTypes: ['review_item'] }, opts);
    await t.ctx.database.transaction(async (trx) => {
      await insertReviewItem(
        trx,
        { businessId: b.id, personId: null, sourceRef: 'test:1', reason: 'unclear_reply', detail: {} },
        t.ctx.clock.now(),
      );
      await insertReviewItem(
        trx,
        { businessId: b.id, personId: null, sourceRef: 'test:1', reason: 'unclear_reply', detail: {} },
        t.ctx.clock.now(),
      );
    });
    await assert.rejects(
      t.ctx.database.transaction(async (trx) => {
        await insertReviewItem(
          trx,
          { businessId: b.id, personId: null, sourceRef: 'test:2', reason: 'unclear_reply', detail: {} },
          t.ctx.clock.now(),
        );
        throw new Error('rolled back');
      }),
    );
    await drain(5, 1000);
    const got = dedupe(rx.got).map((r) => verified(r, ep.secret, false));
    assert.deepEqual(
      got.map((x) => [x.type, x.data.reason]),
      [['consent.review_item', 'unclear_reply']],
      'one item, once; the rolled-back one never',
    );
    for (const [m, path] of [
      ['GET', ''],
      ['PATCH', ''],
      ['DELETE', ''],
      ['GET', '/deliveries'],
      ['POST', '/replay'],
      ['POST', '/rotate-secret'],
    ] as const) {
      const r = await t.call(
        m,
        `/v1/webhook-endpoints/${ep.id}${path}`,
        other.key,
        m === 'PATCH' ? { enabled: false } : m === 'POST' && path === '/replay' ? { deliveryId: 'x' } : undefined,
      );
      assert.equal(r.statusCode, 404, `${m} ${path}: ${r.body}`);
    }
    assert.equal((await t.call('GET', '/v1/webhook-endpoints', other.key)).json().data.length, 0);
    await rx.close();
  });
});
