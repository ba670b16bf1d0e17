import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';
import { requiredPermission } from '../../src/domain/access/roles.js';

forEachDialect('HTTP API: key roles (read, write, admin)', (db) => {
  let t: TestApp;
  let a: { id: string; key: string; textHash: string };
  let person: string;
  const keyOf = async (role: string) => {
    const r = await t.call('POST', '/v1/keys', a.key, { name: `${role} key`, role });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().info.role, role);
    return r.json().key as string;
  };
  before(async () => {
    t = await buildTestApp(db());
    a = await t.newBusiness('Roles');
    const r = await t.call('POST', '/v1/opt-ins', a.key, {
      person: { phone: PHONE_A },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: a.textHash,
      evidence: WEB_EVIDENCE,
    });
    person = r.json().personId;
  });
  after(async () => {
    await t.app.close();
  });

  it('GET /v1/me names the key, its role and permissions', async () => {
    const me = await t.call('GET', '/v1/me', a.key);
    assert.equal(me.statusCode, 200, me.body);
    assert.deepEqual(
      { ...(me.json() as object), keyId: undefined },
      { businessId: a.id, keyId: undefined, role: 'admin', permissions: ['read', 'write', 'admin'] },
    );
    const read = await keyOf('read');
    assert.deepEqual((await t.call('GET', '/v1/me', read)).json().permissions, ['read']);
  });

  it('a read key looks, exports, verifies and asks the gate, but cannot erase, record or manage keys', async () => {
    const read = await keyOf('read');
    for (const url of [
      '/v1/topics',
      `/v1/people/${person}`,
      `/v1/people/${person}/events`,
      `/v1/people/${person}/proof`,
      '/v1/ledger/verify',
      '/v1/events',
      '/v1/reports/totals',
    ]) {
      const r = await t.call('GET', url, read);
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    }
    assert.equal(
      (await t.call('POST', '/v1/decisions', read, { person: { personId: person }, topic: 'delivery' })).statusCode,
      200,
    );
    const erase = await t.call('POST', `/v1/people/${person}/erase`, read, {});
    assert.equal(erase.statusCode, 403);
    assert.equal(erase.json().code, 'FORBIDDEN');
    assert.match(erase.json().detail, /write/);
    const optIn = await t.call('POST', '/v1/opt-ins', read, {
      person: { phone: PHONE_A },
      topics: ['billing'],
      channel: 'web',
      action: 'checked_box',
      textHash: a.textHash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(optIn.statusCode, 403);
    assert.equal((await t.call('POST', '/v1/keys', read, { name: 'sneaky', role: 'admin' })).statusCode, 403);
    // Nothing changed: the person is still there and opted in.
    assert.equal((await t.call('GET', `/v1/people/${person}`, a.key)).statusCode, 200);
  });

  it('a write key records and sends but cannot manage keys or settings', async () => {
    const write = await keyOf('write');
    const optOut = await t.call('POST', '/v1/opt-outs', write, {
      person: { personId: person },
      scope: 'topics',
      topics: ['delivery'],
      channel: 'api',
      action: 'staff_request',
    });
    assert.ok(optOut.statusCode < 300, optOut.body);
    for (const [m, url, body] of [
      ['POST', '/v1/keys', { name: 'x' }],
      ['GET', '/v1/keys', undefined],
      ['PATCH', '/v1/business', { displayName: 'New' }],
    ] as const) {
      const r = await t.call(m, url, write, body);
      assert.equal(r.statusCode, 403, `${m} ${url}`);
    }
  });

  it('the actor of an event is the key that wrote it', async () => {
    const write = await keyOf('write');
    const me = (await t.call('GET', '/v1/me', write)).json();
    await t.call('POST', '/v1/opt-ins', write, {
      person: { phone: PHONE_A },
      topics: ['billing'],
      channel: 'web',
      action: 'checked_box',
      textHash: a.textHash,
      evidence: WEB_EVIDENCE,
    });
    const events = (await t.call('GET', '/v1/events?type=opt_in', a.key)).json().data as {
      actor: string;
      topics: string[];
    }[];
    const billing = events.filter((e) => e.topics.includes('billing'));
    assert.equal(billing.length, 1);
    assert.equal(billing[0]!.actor, `key:${me.keyId}`);
  });

  it('keys created before roles are write; an unknown role is refused with its field', async () => {
    const write = await keyOf('write');
    void write;
    const bad = await t.call('POST', '/v1/keys', a.key, { name: 'x', role: 'owner' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
    const r = await sql<{
      d: string | null;
    }>`select role as d from api_keys where business_id = ${a.id} limit 1`.execute(t.ctx.database.db);
    assert.ok(['read', 'write', 'admin'].includes(r.rows[0]!.d!));
  });

  it('the permission table: GET read, other methods write, named exceptions', () => {
    assert.equal(requiredPermission('GET', '/v1/people/:id/proof'), 'read');
    assert.equal(requiredPermission('POST', '/v1/people/:id/erase'), 'write');
    assert.equal(requiredPermission('POST', '/v1/decisions'), 'read');
    assert.equal(requiredPermission('POST', '/v1/keys'), 'admin');
    assert.equal(requiredPermission('GET', '/v1/keys'), 'admin');
    assert.equal(requiredPermission('POST', '/v1/opt-ins', 'admin'), 'admin');
  });
});
