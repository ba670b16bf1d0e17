// People search by any form of number or id (GET /v1/people?q=), and preference links minted over the API
// (POST /v1/people/{id}/preference-link) that open the hosted preference page. Both dialects.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { capturePlugins } from '../../src/http/capture-plugins.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { PHONE_A, WEB_EVIDENCE } from '../helpers/http.js';

forEachDialect('people search and preference links', (db) => {
  let app: FastifyInstance;
  let adminKey: string;
  let ctx: ReturnType<typeof testContext>;
  const call = (method: string, url: string, key: string | null, body?: unknown): Promise<LightMyRequestResponse> =>
    app.inject({ method: method as 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {}, ...(body !== undefined ? { payload: body as object } : {}) });

  before(async () => {
    ctx = testContext(db());
    const publicUrl = 'http://localhost:8080';
    app = await buildApp({ ctx, config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl }, plugins: capturePlugins(ctx, { publicUrl }) });
    await app.ready();
    adminKey = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
  });
  after(async () => { await app.close(); });

  async function business() {
    const b = await call('POST', '/v1/businesses', adminKey, { slug: `search-${Math.random().toString(36).slice(2, 8)}`, displayName: 'Search Shop' });
    assert.equal(b.statusCode, 201, b.body);
    const key = (await call('POST', `/v1/businesses/${b.json().id}/keys`, adminKey, { name: 'k' })).json().key as string;
    assert.equal((await call('POST', '/v1/topics', key, { key: 'delivery', name: 'delivery updates', category: 'utility' })).statusCode, 201);
    const text = await call('POST', '/v1/texts', key, { name: 'default', language: 'en', topicKeys: ['delivery'], body: 'Send me delivery updates from Search Shop on WhatsApp. Reply STOP to opt out.' });
    const optIn = await call('POST', '/v1/opt-ins', key, { person: { phone: PHONE_A }, topics: ['delivery'], channel: 'web', action: 'checked_box', textHash: text.json().hash, evidence: WEB_EVIDENCE });
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
