import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';
import { buildApp } from '../../src/http/app.js';
import { testContext } from '../helpers/context.js';

type Families = ReturnType<typeof parsePrometheusTextFormat>;

const sum = (fams: Families, name: string, where: Record<string, string> = {}) =>
  (fams.find((f) => f.name === name)?.metrics ?? [])
    .filter((m) => Object.entries(where).every(([k, v]) => m.labels?.[k] === v))
    .reduce((a, m) => a + Number(m.value ?? m.count ?? 0), 0);

forEachDialect('GET /metrics (Prometheus text format)', (db) => {
  let t: TestApp;
  let b: { id: string; key: string; textHash: string };
  const scrape = async () => {
    const r = await t.call('GET', '/metrics', t.adminKey);
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    return parsePrometheusTextFormat(r.body);
  };
  before(async () => {
    t = await buildTestApp(db());
    b = await t.newBusiness('Metrics Shop');
  });
  after(() => t.app.close());

  it('needs a platform admin key by default', async () => {
    assert.equal((await t.call('GET', '/metrics', null)).statusCode, 401);
    const biz = await t.call('GET', '/metrics', b.key);
    assert.equal(biz.statusCode, 403);
    assert.match(String(biz.headers['content-type']), /application\/problem\+json/);
  });

  it('counts gate outcomes by reason and HTTP requests by route pattern and status', async () => {
    const before_ = await scrape();
    for (const name of [
      'optline_webhook_items_received_total',
      'optline_webhook_items_stored_total',
      'optline_inbox_lag_seconds',
      'optline_gate_outcomes_total',
      'optline_dispatch_sends_total',
      'optline_provider_latency_seconds',
      'optline_opt_out_to_block_seconds',
      'optline_http_requests_total',
    ]) {
      assert.ok(
        before_.some((f) => f.name === name),
        `${name} is exposed`,
      );
    }
    // Nobody opted in yet: refused with NO_CONSENT (or similar); then an opt-in and an allowed decision.
    const refused = await t.call('POST', '/v1/decisions', b.key, { person: { phone: PHONE_A }, topic: 'delivery' });
    assert.equal(refused.statusCode, 200, refused.body);
    const optIn = await t.call('POST', '/v1/opt-ins', b.key, {
      person: { phone: PHONE_A },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.textHash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(optIn.statusCode, 201, optIn.body);
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await t.call('POST', '/v1/decisions', b.key, { person: { phone: PHONE_A }, topic: 'delivery' })).statusCode,
        200,
      );
    await t.call('GET', '/v1/people/per_00000000000000000000000000', b.key);

    const after_ = await scrape();
    const refuseReason = refused.json().reasons[0].code as string;
    assert.equal(
      sum(after_, 'optline_gate_outcomes_total', { outcome: 'refuse', reason: refuseReason }) -
        sum(before_, 'optline_gate_outcomes_total', { outcome: 'refuse', reason: refuseReason }),
      1,
    );
    const allowedNow =
      sum(after_, 'optline_gate_outcomes_total', { outcome: 'allow', reason: 'NONE' }) -
      sum(before_, 'optline_gate_outcomes_total', { outcome: 'allow', reason: 'NONE' });
    assert.equal(allowedNow, 3);
    const dec = (f: Families) =>
      sum(f, 'optline_http_requests_total', { method: 'POST', route: '/v1/decisions', status: '200' });
    assert.equal(dec(after_) - dec(before_), 4);
    assert.equal(
      sum(after_, 'optline_http_requests_total', { method: 'GET', route: '/v1/people/:id', status: '404' }),
      1,
    );
    assert.equal(sum(after_, 'optline_http_requests_total', { route: '/metrics', status: '403' }), 1);
  });

  it('OPTLINE_METRICS_PUBLIC=true answers without a key; each app has its own registry', async () => {
    const ctx = testContext(db());
    const app = await buildApp({
      ctx,
      config: {
        bodyLimitBytes: 1 << 20,
        webhookBodyLimitBytes: 1 << 22,
        publicUrl: 'http://localhost:8080',
        metricsPublic: true,
      },
    });
    try {
      const r = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(r.statusCode, 200);
      const fams = parsePrometheusTextFormat(r.body);
      assert.equal(sum(fams, 'optline_gate_outcomes_total'), 0, 'a fresh app starts from zero');
    } finally {
      await app.close();
    }
  });
});
