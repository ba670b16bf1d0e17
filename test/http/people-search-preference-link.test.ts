// People search by any form of number or id (GET /v1/people?q=), and preference links minted over the API
// (POST /v1/people/{id}/preference-link) that open the hosted preference page. Both dialects.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { PHONE_A, WEB_EVIDENCE } from '../helpers/http.js';

forEachDialect('people search and preference links', (db) => {
  let app: FastifyInstance;
  let adminKey: string;
  let ctx: ReturnType<typeof testContext>;
  const call = (method: string, url: string, key: string | null, body?: unknown): Promise<LightMyRequestResponse> =>
    app.inject({
      method: method as 'GET',
      url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });

  before(async () => {
    ctx = testContext(db());
    const publicUrl = 'http://localhost:8080';
    app = await buildApp({
      ctx,
      config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl },
      capture: { smtp: { url: null, from: 'shop@example.test' } },
    });
    await app.ready();
    adminKey = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
  });
  after(async () => {
    await app.close();
  });

  async function business() {
    const b = await call('POST', '/v1/businesses', adminKey, {
      slug: `search-${Math.random().toString(36).slice(2, 8)}`,
      displayName: 'Search Shop',
    });
    assert.equal(b.statusCode, 201, b.body);
    const key = (await call('POST', `/v1/businesses/${b.json().id}/keys`, adminKey, { name: 'k' })).json()
      .key as string;
    assert.equal(
      (await call('POST', '/v1/topics', key, { key: 'delivery', name: 'delivery updates', category: 'utility' }))
        .statusCode,
      201,
    );
    const text = await call('POST', '/v1/texts', key, {
      name: 'default',
      language: 'en',
      topicKeys: ['delivery'],
      body: 'Send me delivery updates from Search Shop on WhatsApp. Reply STOP to opt out.',
    });
    const optIn = await call('POST', '/v1/opt-ins', key, {
      person: { phone: PHONE_A },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.json().hash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(optIn.statusCode, 201, optIn.body);
    return { key, personId: optIn.json().personId as string };
  }
  const found = async (key: string, q: string, extra = '') => {
    const r = await call('GET', `/v1/people?q=${encodeURIComponent(q)}${extra}`, key);
    assert.equal(r.statusCode, 200, r.body);
    return r.json().data.map((p: { id: string }) => p.id) as string[];
  };

  it('finds a person by international, national (default country), WhatsApp-id and person-id forms; nothing for the rest', async () => {
    const { key, personId } = await business();
    assert.deepEqual(await found(key, '+44 7911 123456'), [personId]);
    assert.deepEqual(await found(key, '447911123456'), [personId], 'WhatsApp id digits');
    assert.deepEqual(await found(key, personId), [personId]);
    // A national number needs a country: the one given, else the business's default country.
    assert.deepEqual(await found(key, '07911 123456', '&country=GB'), [personId]);
    assert.deepEqual(await found(key, '07911 123456'), [], 'no default country yet');
    const put = await call('PUT', '/v1/capture-settings', key, { defaultCountry: 'GB' });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(await found(key, '07911 123456'), [personId]);
    assert.deepEqual(await found(key, '(07911) 123-456'), [personId]);
    // Not a number, not an id: an empty page, never an error.
    assert.deepEqual(await found(key, 'hello'), []);
    assert.deepEqual(await found(key, '+1 555'), []);
    // Bad parameters are 422 with their field.
    const bad = await call('GET', '/v1/people?q=x&country=gb', key);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
    assert.match(bad.json().detail, /country/);
    // Another business does not see this person.
    const other = await business();
    assert.deepEqual(await found(other.key, personId), []);
  });

  it('mints a preference link that opens the preference page; unknown or erased people get 404 / 409', async () => {
    const { key, personId } = await business();
    const r = await call('POST', `/v1/people/${personId}/preference-link`, key);
    assert.equal(r.statusCode, 201, r.body);
    const link = r.json();
    assert.match(link.url, /^http:\/\/localhost:8080\/p\/prefs\/.+/);
    assert.equal(link.url, `http://localhost:8080${link.path}`);
    assert.equal(link.expiresAt, ctx.clock.now() + 30 * 24 * 3_600_000, 'lives 30 days');
    const page = await call('GET', link.path, null);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Search Shop/);
    assert.match(page.body, /delivery updates/);
    // A changed token does not open it.
    const forged = await call('GET', link.path.slice(0, -2) + (link.path.endsWith('A') ? 'BB' : 'AA'), null);
    assert.notEqual(forged.statusCode, 200);

    const missing = await call('POST', '/v1/people/per_nope/preference-link', key);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'NOT_FOUND');
    assert.equal((await call('POST', `/v1/people/${personId}/erase`, key, {})).statusCode, 200);
    const erased = await call('POST', `/v1/people/${personId}/preference-link`, key);
    assert.equal(erased.statusCode, 409);
    assert.equal(erased.json().code, 'PERSON_ERASED');
    const spec = (await call('GET', '/openapi.json', null)).json();
    assert.ok(spec.paths['/v1/people/{id}/preference-link'].post);
  });
});

forEachDialect('ledger filters', (db) => {
  let app: FastifyInstance;
  let adminKey: string;
  const call = (method: string, url: string, key: string | null, body?: unknown): Promise<LightMyRequestResponse> =>
    app.inject({
      method: method as 'GET',
      url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  before(async () => {
    const ctx = testContext(db());
    app = await buildApp({
      ctx,
      config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl: 'http://localhost:8080' },
    });
    await app.ready();
    adminKey = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
  });
  after(async () => {
    await app.close();
  });

  it('filters /v1/events by type, channel, topic (and all-topic events) and occurred time', async () => {
    const b = await call('POST', '/v1/businesses', adminKey, {
      slug: `ledger-${Math.random().toString(36).slice(2, 8)}`,
      displayName: 'Ledger Shop',
    });
    const key = (await call('POST', `/v1/businesses/${b.json().id}/keys`, adminKey, { name: 'k' })).json()
      .key as string;
    for (const [t, name] of [
      ['delivery', 'delivery updates'],
      ['bill_ing', 'billing alerts'],
    ])
      assert.equal((await call('POST', '/v1/topics', key, { key: t, name, category: 'utility' })).statusCode, 201);
    const text = await call('POST', '/v1/texts', key, {
      name: 'd',
      language: 'en',
      topicKeys: ['delivery', 'bill_ing'],
      body: 'Send me delivery updates and billing alerts from Ledger Shop on WhatsApp. Reply STOP to opt out.',
    });
    const t0 = Date.UTC(2026, 4, 1);
    const ins = [
      { phone: '+447911123401', topics: ['delivery'], at: t0 },
      { phone: '+447911123402', topics: ['bill_ing'], at: t0 + 86_400_000 },
    ];
    for (const i of ins) {
      const r = await call('POST', '/v1/opt-ins', key, {
        person: { phone: i.phone },
        topics: i.topics,
        channel: 'web',
        action: 'checked_box',
        textHash: text.json().hash,
        evidence: WEB_EVIDENCE,
        occurredAt: i.at,
      });
      assert.equal(r.statusCode, 201, r.body);
    }
    const out = await call('POST', '/v1/opt-outs', key, {
      person: { phone: '+447911123401' },
      scope: 'all',
      channel: 'api',
      action: 'staff_request',
      evidence: { ticket: 'T' },
    });
    assert.equal(out.statusCode, 201, out.body);
    const ids = async (qs: string) => {
      const r = await call('GET', `/v1/events?${qs}`, key);
      assert.equal(r.statusCode, 200, r.body);
      return r
        .json()
        .data.map(
          (e: { type: string; channel: string; scope: string; topics: string[] }) =>
            `${e.type}/${e.channel}/${e.scope === 'all' ? 'all' : e.topics.join('+')}`,
        );
    };
    assert.deepEqual(await ids('type=opt_out'), ['opt_out/api/all']);
    assert.deepEqual((await ids('channel=web')).sort(), ['opt_in/web/bill_ing', 'opt_in/web/delivery']);
    assert.deepEqual((await ids('topic=bill_ing')).sort(), ['opt_in/web/bill_ing', 'opt_out/api/all']);
    assert.deepEqual(await ids('topic=billxing'), ['opt_out/api/all'], "the key's underscore is no wildcard");
    assert.equal((await call('GET', '/v1/events?topic=bill%25ing', key)).statusCode, 400);
    assert.deepEqual(await ids(`type=opt_in&from=${t0}&to=${t0 + 86_400_000}`), ['opt_in/web/delivery']);
    const bad = await call('GET', '/v1/events?from=yesterday', key);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
  });
});
