// The audit log: every console / API admin action with the key that did it, written in the action's transaction
// (an action that fails leaves no row), read with GET /v1/audit-log (read role, paginated, business-scoped).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { PHONE_A, WEB_EVIDENCE } from '../helpers/http.js';
import { insertReviewItem } from '../../src/storage/whatsapp/review-store.js';

forEachDialect('audit log', (db) => {
  let app: FastifyInstance;
  let platformKey: string;
  let ctx: ReturnType<typeof testContext>;
  // Each call a second after the last (the injected clock): the log is ordered by time, then id.
  const call = (method: string, url: string, key: string, body?: unknown): Promise<LightMyRequestResponse> => {
    ctx.clock.advance(1000);
    return app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  };

  before(async () => {
    ctx = testContext(db());
    app = await buildApp({
      ctx,
      config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl: 'http://localhost:8080' },
    });
    await app.ready();
    platformKey = (await createApiKey(ctx, { businessId: null, name: 'platform' })).key;
  });
  after(async () => {
    await app.close();
  });

  async function business() {
    const b = await call('POST', '/v1/businesses', platformKey, {
      slug: `audit-${Math.random().toString(36).slice(2, 8)}`,
      displayName: 'Audit Shop',
    });
    const key = (await call('POST', `/v1/businesses/${b.json().id}/keys`, platformKey, { name: 'console' })).json()
      .key as string;
    const keyId = (await call('GET', '/v1/me', key)).json().keyId as string;
    return { key, keyId };
  }

  it('each admin action is one row naming the key, newest first, paginated; failed actions leave none', async () => {
    const { key, keyId } = await business();
    const ok = async (r: Promise<LightMyRequestResponse>, status = [200, 201]) => {
      const res = await r;
      assert.ok(status.includes(res.statusCode), res.body);
      return res.json();
    };
    await ok(call('POST', '/v1/topics', key, { key: 'delivery', name: 'delivery updates', category: 'utility' }));
    await ok(call('PUT', '/v1/topics/delivery/names', key, { names: { es: 'actualizaciones de entrega' } }));
    const text = await ok(
      call('POST', '/v1/texts', key, {
        name: 'default',
        language: 'en',
        topicKeys: ['delivery'],
        body: 'Send me delivery updates from Audit Shop on WhatsApp. Reply STOP to opt out.',
      }),
    );
    const optIn = await ok(
      call('POST', '/v1/opt-ins', key, {
        person: { phone: PHONE_A },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.hash,
        evidence: WEB_EVIDENCE,
      }),
    );
    await ok(call('PATCH', '/v1/business', key, { displayName: 'Audit Shop' }));
    await ok(call('GET', `/v1/people/${optIn.personId}/proof`, key));
    const created = await ok(call('POST', '/v1/keys', key, { name: 'support', role: 'read' }));
    await ok(call('DELETE', `/v1/keys/${created.info.id}`, key));
    await ok(call('POST', `/v1/people/${optIn.personId}/erase`, key, { reason: 'asked by email' }));
    // Failures: nothing written with them.
    assert.equal((await call('POST', '/v1/people/per_unknown/erase', key, {})).statusCode, 404);
    assert.equal((await call('PUT', '/v1/topics/nope/names', key, { names: { es: 'x' } })).statusCode, 404);
    assert.equal(
      (await call('POST', '/v1/topics', key, { key: 'delivery', name: 'again', category: 'utility' })).statusCode,
      409,
    );

    const all = await ok(call('GET', '/v1/audit-log?limit=200', key));
    const actions = all.data.map((e: { action: string }) => e.action);
    assert.deepEqual(actions, [
      'person.erase',
      'key.revoke',
      'key.create',
      'proof.download',
      'business.update',
      'text.register',
      'topic.names',
      'topic.create',
      'key.create',
    ]);
    for (const e of all.data.slice(0, -1)) assert.equal(e.actor, `key:${keyId}`, 'every row names the key that acted');
    assert.deepEqual(
      [all.data.at(-1).target, all.data.at(-1).detail.role],
      [keyId, 'admin'],
      'the console key itself, made with the platform key',
    );
    assert.notEqual(all.data.at(-1).actor, `key:${keyId}`);
    const erase = all.data[0];
    assert.equal(erase.target, optIn.personId);
    assert.equal(erase.detail.reason, 'asked by email');

    // Pages of 3 give the same rows in the same order.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { action: string }[]; nextCursor: string | null } = await ok(
        call('GET', `/v1/audit-log?limit=3${cursor ? `&cursor=${cursor}` : ''}`, key),
      );
      seen.push(...page.data.map((e) => e.action));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, actions);
    const only = await ok(call('GET', '/v1/audit-log?action=key.create', key));
    assert.deepEqual(
      only.data.map((e: { target: string }) => e.target),
      [created.info.id, keyId],
    );
  });

  it('a read key reads it; another business sees none of it; bad parameters name the field', async () => {
    const a = await business();
    await call('POST', '/v1/topics', a.key, { key: 'delivery', name: 'delivery updates', category: 'utility' });
    const read = (await call('POST', '/v1/keys', a.key, { name: 'support', role: 'read' })).json().key as string;
    const r = await call('GET', '/v1/audit-log', read);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(
      r.json().data.map((e: { action: string }) => e.action),
      ['key.create', 'topic.create', 'key.create'],
    );
    const b = await business();
    assert.deepEqual(
      (await call('GET', '/v1/audit-log', b.key)).json().data.map((e: { target: string }) => e.target),
      [b.keyId],
      'only its own key',
    );
    const bad = await call('GET', '/v1/audit-log?limit=0', a.key);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /limit/);
    const badCursor = await call('GET', '/v1/audit-log?cursor=zzz', a.key);
    assert.equal(badCursor.json().code, 'INVALID_CURSOR');
  });

  it('review resolutions and message decisions are logged in their transaction; a refused second resolution adds none', async () => {
    const { key, keyId } = await business();
    const businessId = (await call('GET', '/v1/me', key)).json().businessId as string;
    await call('POST', '/v1/topics', key, { key: 'delivery', name: 'delivery updates', category: 'utility' });
    const text = (
      await call('POST', '/v1/texts', key, {
        name: 'd',
        language: 'en',
        topicKeys: ['delivery'],
        body: 'Send me delivery updates from Audit Shop on WhatsApp. Reply STOP to opt out.',
      })
    ).json();
    const optIn = (
      await call('POST', '/v1/opt-ins', key, {
        person: { phone: PHONE_A },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.hash,
        evidence: WEB_EVIDENCE,
      })
    ).json();
    await insertReviewItem(
      db().db,
      { businessId, personId: optIn.personId, sourceRef: 'wa:msg:x', reason: 'unclear', detail: {} },
      ctx.clock.now(),
    );
    const itemId = (
      await db()
        .db.selectFrom('review_items')
        .select('id')
        .where('business_id', '=', businessId)
        .executeTakeFirstOrThrow()
    ).id;
    const resolve = () =>
      call('POST', `/v1/review-items/${itemId}/resolve`, key, { resolution: 'no_action', note: 'spam' });
    assert.equal((await resolve()).statusCode, 200);
    assert.equal((await resolve()).statusCode, 409);
    // A message whose outcome is unknown, dropped by an operator.
    const msg = await db()
      .db.selectFrom('messages')
      .select('id')
      .where('business_id', '=', businessId)
      .executeTakeFirstOrThrow();
    await db()
      .db.updateTable('messages')
      .set({ status: 'unknown' })
      .where('business_id', '=', businessId)
      .where('id', '=', msg.id)
      .execute();
    const drop = await call('POST', `/v1/messages/${msg.id}/resolve`, key, { action: 'drop' });
    assert.equal(drop.statusCode, 200, drop.body);
    assert.equal((await call('POST', `/v1/messages/${msg.id}/resolve`, key, { action: 'drop' })).statusCode, 409);

    const log = (await call('GET', '/v1/audit-log?limit=10', key)).json().data as {
      action: string;
      target: string;
      actor: string;
      detail: Record<string, unknown>;
    }[];
    const review = log.filter((e) => e.action === 'review.resolve');
    const decided = log.filter((e) => e.action === 'message.resolve');
    assert.equal(review.length, 1);
    assert.deepEqual(
      [review[0]!.target, review[0]!.detail.resolution, review[0]!.detail.note, review[0]!.actor],
      [itemId, 'no_action', 'spam', `key:${keyId}`],
    );
    assert.equal(decided.length, 1);
    assert.deepEqual(
      [decided[0]!.target, decided[0]!.detail.action, decided[0]!.detail.outcome],
      [msg.id, 'drop', 'dropped'],
    );
  });
});
