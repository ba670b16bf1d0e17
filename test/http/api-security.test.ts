import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';
import { sha256Hex } from '../../src/lib/crypto.js';

forEachDialect('HTTP API: authentication and tenant isolation', (db) => {
  let t: TestApp;
  let a: { id: string; key: string; textHash: string };
  let b: { id: string; key: string; textHash: string };
  let aPerson: string;
  let aMessage: string;
  before(async () => {
    t = await buildTestApp(db());
    a = await t.newBusiness('Alpha');
    b = await t.newBusiness('Beta');
    const r = await t.call('POST', '/v1/opt-ins', a.key, {
      person: { phone: PHONE_A },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: a.textHash,
      evidence: WEB_EVIDENCE,
    });
    aPerson = r.json().personId;
    aMessage = r.json().confirmationMessageId;
  });
  after(async () => {
    await t.app.close();
  });

  it('refuses missing, malformed, unknown and revoked keys', async () => {
    for (const key of [null, 'nope', 'olk_' + 'x'.repeat(32), 'Bearer']) {
      const r = await t.call('GET', '/v1/topics', key);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().code, 'UNAUTHENTICATED');
    }
    const k = (await t.call('POST', '/v1/keys', a.key, { name: 'temp' })).json();
    assert.equal((await t.call('GET', '/v1/topics', k.key)).statusCode, 200);
    await t.call('DELETE', `/v1/keys/${k.info.id}`, a.key);
    assert.equal((await t.call('GET', '/v1/topics', k.key)).statusCode, 401);
  });

  it('checks keys only where a route needs one, and tags every answer with its request id', async () => {
    const refused = await t.call('GET', '/v1/topics', null);
    assert.equal(refused.statusCode, 401);
    assert.match(String(refused.headers['x-request-id']), /^req_/);
    const missing = await t.call('GET', '/v1/no-such-endpoint', null);
    assert.equal(missing.json().code, 'ROUTE_NOT_FOUND', 'an unknown URL is a 404, not a 401');
    assert.match(String(missing.headers['x-request-id']), /^req_/);
    const open = await t.call('GET', '/openapi.json', null);
    assert.equal(open.statusCode, 200, 'public routes need no key');
    assert.match(String(open.headers['x-request-id']), /^req_/);
  });

  it('every /v1 operation in the OpenAPI document refuses a request without a key', async () => {
    const spec = (await t.call('GET', '/openapi.json', null)).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const ops = Object.entries(spec.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x_1')] as const),
      );
    assert.ok(ops.length > 20, `${ops.length} operations`);
    for (const [method, url] of ops) {
      const r = await t.call(method, url, null, method === 'GET' || method === 'DELETE' ? undefined : {});
      assert.equal(r.statusCode, 401, `${method} ${url}: ${r.body}`);
      assert.equal(r.json().code, 'UNAUTHENTICATED');
    }
  });

  it('keeps keys hashed at rest and shows them once', async () => {
    const created = (await t.call('POST', '/v1/keys', a.key, { name: 'ci' })).json();
    const rows = await t.ctx.database.db.selectFrom('api_keys').selectAll().execute();
    assert.ok(rows.every((r) => r.key_hash !== created.key && !JSON.stringify(r).includes(created.key)));
    assert.ok(rows.some((r) => r.key_hash === sha256Hex(created.key)));
    const list = await t.call('GET', '/v1/keys', a.key);
    assert.ok(!list.body.includes(created.key));
  });

  it('separates admin and business keys', async () => {
    assert.equal(
      (await t.call('POST', '/v1/businesses', a.key, { slug: 'evil', displayName: 'Evil' })).json().code,
      'FORBIDDEN',
    );
    assert.equal((await t.call('GET', '/v1/topics', t.adminKey)).json().code, 'FORBIDDEN');
  });

  it('business B can neither read nor change anything of business A', async () => {
    const reads = [
      `/v1/people/${aPerson}`,
      `/v1/people/${aPerson}/events`,
      `/v1/people/${aPerson}/proof`,
      `/v1/messages/${aMessage}`,
      `/v1/texts/${a.textHash}`,
    ];
    for (const url of reads) {
      const r = await t.call('GET', url, b.key);
      assert.equal(r.statusCode, 404, `${url}: ${r.body}`);
      assert.equal(r.json().code, 'NOT_FOUND');
    }
    const list = (await t.call('GET', '/v1/people', b.key)).json();
    assert.equal(list.data.length, 0);
    const byPhone = (await t.call('GET', `/v1/people?phone=${encodeURIComponent(PHONE_A)}`, b.key)).json();
    assert.equal(byPhone.data.length, 0);
    const events = (await t.call('GET', '/v1/events', b.key)).json();
    assert.equal(events.data.length, 0);

    // Writes: erase A's person, use A's text, opt A's person out by id: all refused, A unchanged.
    assert.equal((await t.call('POST', `/v1/people/${aPerson}/erase`, b.key, {})).statusCode, 404);
    const useText = await t.call('POST', '/v1/opt-ins', b.key, {
      person: { phone: PHONE_A },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: a.textHash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(useText.json().code, 'UNKNOWN_TEXT');
    const outById = await t.call('POST', '/v1/opt-outs', b.key, {
      person: { personId: aPerson },
      scope: 'all',
      channel: 'api',
      action: 'staff_request',
    });
    assert.equal(outById.statusCode, 404, outById.body);
    const decision = (
      await t.call('POST', '/v1/decisions', a.key, { person: { phone: PHONE_A }, topic: 'delivery' })
    ).json();
    assert.equal(decision.outcome, 'allow', "A's consent is untouched");
    const aEvents = (await t.call('GET', `/v1/people/${aPerson}/events`, a.key)).json().data;
    assert.equal(aEvents.length, 1);
    // Keys of A cannot be revoked by B.
    const aKeys = (await t.call('GET', '/v1/keys', a.key)).json().data;
    assert.equal((await t.call('DELETE', `/v1/keys/${aKeys[0].id}`, b.key)).statusCode, 404);
    assert.equal((await t.call('GET', '/v1/topics', a.key)).statusCode, 200);
  });

  it('never returns a stack trace or driver message on a server error', async () => {
    const r = await t.app.inject({
      method: 'GET',
      url: '/v1/people/%E0%A4%A',
      headers: { authorization: `Bearer ${a.key}` },
    });
    assert.ok(r.statusCode >= 400 && r.statusCode < 500, r.body);
  });
});
