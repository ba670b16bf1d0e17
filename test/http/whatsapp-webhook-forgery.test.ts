// Cross-tenant webhook forgery: a business can choose its own Meta app secret (PUT /v1/channels/whatsapp), so a
// signature that matches *some* configured secret proves nothing about *whose* numbers the body may speak for.
// Every variant here must be refused with 401, store nothing, and change nothing for the victim.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildWaTestApp, SHARED_SECRET, type WaTestApp } from '../helpers/whatsapp.js';
import { newNumber, personBy } from '../helpers/whatsapp-people.js';
import { webEvidence } from '../helpers/seed.js';
import { batch, inboundText, metaJson, userPreference } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../../src/channels/whatsapp-cloud/signature.js';
import { recordOptIn } from '../../src/services/consent/record-opt-in.js';
import { resolveWebhookOwner } from '../../src/services/whatsapp/webhook-owner.js';
import { webhookRoutingKeys } from '../../src/channels/whatsapp-cloud/payload.js';

const inboxCount = async (t: WaTestApp) =>
  Number(
    (
      await t.ctx.database.db
        .selectFrom('inbox')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

forEachDialect('WhatsApp webhook forgery across tenants is refused', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  /** A victim business with one opted-in customer. */
  async function victim(o: { sharedApp?: boolean } = {}) {
    const b = await t.business(o);
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
    return { ...b, customer: p };
  }
  const gate = async (v: Awaited<ReturnType<typeof victim>>) => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: { authorization: `Bearer ${v.apiKey}` },
      payload: { person: { phone: v.customer.e164 }, topic: 'delivery' },
    });
    assert.equal(r.statusCode, 200, r.body);
    return r.json().outcome as string;
  };
  const signedPost = (envelope: object, secret: string) => {
    const raw = metaJson(envelope);
    return t.app.inject({
      method: 'POST',
      url: '/webhooks/whatsapp',
      payload: raw,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, secret) },
    });
  };
  async function assertRefused(envelope: object, secret: string, label: string) {
    const before = await inboxCount(t);
    const r = await signedPost(envelope, secret);
    assert.equal(r.statusCode, 401, `${label}: ${r.body}`);
    assert.equal(r.json().code, 'WEBHOOK_SIGNATURE_INVALID', label);
    await t.processor.drain();
    assert.equal(await inboxCount(t), before, `${label}: nothing stored`);
  }

  it("the reproduction: an attacker sets its own app secret through the API and signs a STOP for another business's number", async () => {
    for (const sharedApp of [false, true]) {
      const v = await victim({ sharedApp });
      const attacker = await t.business();
      const chosen = `attacker-chosen-${Math.random()}`;
      const put = await t.app.inject({
        method: 'PUT',
        url: '/v1/channels/whatsapp',
        headers: { authorization: `Bearer ${attacker.apiKey}` },
        payload: { phoneNumberId: attacker.phoneNumberId, accessToken: 'x', appSecret: chosen },
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(await gate(v), 'allow');
      await assertRefused(
        inboundText({
          phoneNumberId: v.phoneNumberId,
          from: v.customer.digits,
          text: 'STOP',
          timestampMs: t.ctx.clock.now(),
        }),
        chosen,
        `victim on ${sharedApp ? 'the shared' : 'its own'} app`,
      );
      assert.equal(await gate(v), 'allow', "the victim's customer is still opted in");
    }
  });

  it('a STOP for a number never seen opens no window and creates no person', async () => {
    const v = await victim();
    const attacker = await t.business();
    const stranger = newNumber();
    await assertRefused(
      inboundText({
        phoneNumberId: v.phoneNumberId,
        from: stranger.digits,
        text: 'hello',
        timestampMs: t.ctx.clock.now(),
      }),
      attacker.appSecret,
      'window',
    );
    assert.equal(await personBy(t.ctx.database.db, v.business.id, 'phone_e164', stranger.e164), undefined);
  });

  it('the shared app secret cannot speak for a business that has its own app', async () => {
    const v = await victim();
    await assertRefused(
      inboundText({
        phoneNumberId: v.phoneNumberId,
        from: v.customer.digits,
        text: 'STOP',
        timestampMs: t.ctx.clock.now(),
      }),
      SHARED_SECRET,
      'shared for own',
    );
    await assertRefused(
      userPreference({
        phoneNumberId: v.phoneNumberId,
        waId: v.customer.digits,
        value: 'stop',
        timestampMs: t.ctx.clock.now(),
      }),
      SHARED_SECRET,
      'preference',
    );
    assert.equal(await gate(v), 'allow');
  });

  it("a business's own secret cannot speak for a business on the shared app", async () => {
    const v = await victim({ sharedApp: true });
    const attacker = await t.business();
    await assertRefused(
      inboundText({
        phoneNumberId: v.phoneNumberId,
        from: v.customer.digits,
        text: 'STOP',
        timestampMs: t.ctx.clock.now(),
      }),
      attacker.appSecret,
      'own for shared',
    );
    assert.equal(await gate(v), 'allow');
  });

  it('a body mixing two businesses is refused whichever secret signs it, unless one app owns both', async () => {
    const v = await victim();
    const attacker = await t.business();
    const sharedV = await victim({ sharedApp: true });
    const now = t.ctx.clock.now();
    const mixed = batch(
      inboundText({ phoneNumberId: attacker.phoneNumberId, from: newNumber().digits, text: 'hi', timestampMs: now }),
      inboundText({ phoneNumberId: v.phoneNumberId, from: v.customer.digits, text: 'STOP', timestampMs: now }),
    );
    for (const secret of [attacker.appSecret, v.appSecret, SHARED_SECRET])
      await assertRefused(mixed, secret, `mixed own+own signed by ${secret}`);
    const ownAndShared = batch(
      inboundText({ phoneNumberId: attacker.phoneNumberId, from: newNumber().digits, text: 'hi', timestampMs: now }),
      inboundText({
        phoneNumberId: sharedV.phoneNumberId,
        from: sharedV.customer.digits,
        text: 'STOP',
        timestampMs: now,
      }),
    );
    for (const secret of [attacker.appSecret, SHARED_SECRET])
      await assertRefused(ownAndShared, secret, `mixed own+shared signed by ${secret}`);
    assert.equal(await gate(v), 'allow');
    assert.equal(await gate(sharedV), 'allow');

    // Two businesses on the shared app: one signature by their one app is legitimate, and each part goes to its owner.
    const other = await victim({ sharedApp: true });
    const both = batch(
      inboundText({
        phoneNumberId: sharedV.phoneNumberId,
        from: sharedV.customer.digits,
        text: 'STOP',
        timestampMs: now,
      }),
      inboundText({ phoneNumberId: other.phoneNumberId, from: other.customer.digits, text: 'STOP', timestampMs: now }),
    );
    const r = await signedPost(both, SHARED_SECRET);
    assert.equal(r.statusCode, 200, r.body);
    await t.processor.drain();
    assert.equal(await gate(sharedV), 'refuse');
    assert.equal(await gate(other), 'refuse');
    assert.equal(await gate(v), 'allow');
  });

  it("a number not configured here is accepted only from the shared app (stored as unroutable), never on a business's own secret", async () => {
    const attacker = await t.business();
    const env = inboundText({
      phoneNumberId: '777000111222333',
      from: newNumber().digits,
      text: 'STOP',
      timestampMs: t.ctx.clock.now(),
    });
    await assertRefused(env, attacker.appSecret, 'unknown number, own secret');
    const r = await signedPost(env, SHARED_SECRET);
    assert.equal(r.statusCode, 200, r.body);
  });

  it('whatever is configured, the ownership check names exactly one secret to try (one HMAC per POST)', async () => {
    const many = [];
    for (let i = 0; i < 20; i++) many.push(await t.business());
    const target = many[7]!;
    const keys = webhookRoutingKeys(
      JSON.parse(
        metaJson(
          inboundText({ phoneNumberId: target.phoneNumberId, from: newNumber().digits, text: 'hi', timestampMs: 1 }),
        ),
      ),
    );
    const owner = await resolveWebhookOwner(t.ctx, keys, SHARED_SECRET);
    assert.ok(owner.ok);
    assert.equal(owner.secret, target.appSecret);
    assert.deepEqual([...owner.routes.entries()], [[target.phoneNumberId, target.business.id]]);
  });

  it('a missing or malformed signature is refused before the body is even parsed', async () => {
    const before = await inboxCount(t);
    for (const sig of [undefined, 'sha256=', 'sha1=abc', 'sha256=' + 'z'.repeat(64)]) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/webhooks/whatsapp',
        payload: '{not json',
        headers: { 'content-type': 'application/json', ...(sig ? { 'x-hub-signature-256': sig } : {}) },
      });
      assert.equal(r.statusCode, 401, String(sig));
      assert.equal(r.json().code, 'WEBHOOK_SIGNATURE_INVALID');
    }
    assert.equal(await inboxCount(t), before);
  });
});
