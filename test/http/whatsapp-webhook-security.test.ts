import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildWaTestApp, SHARED_SECRET, SHARED_VERIFY, type WaTestApp } from '../helpers/whatsapp.js';
import { inboundText, metaJson } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../../src/channels/whatsapp-cloud/signature.js';

const inboxCount = async (t: WaTestApp) =>
  Number(
    (
      await t.ctx.database.db
        .selectFrom('inbox')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

forEachDialect('WhatsApp webhook: handshake and signatures', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const handshake = (q: string) => t.app.inject({ method: 'GET', url: `/webhooks/whatsapp?${q}` });

  it("echoes the challenge as text/plain for the shared verify token and a business's own", async () => {
    const b = await t.business();
    for (const token of [SHARED_VERIFY, b.verifyToken]) {
      const r = await handshake(
        `hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`,
      );
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      assert.equal(r.body, '1158201444');
    }
  });

  it('refuses a wrong token, a wrong mode and missing parameters with 403 WEBHOOK_VERIFY_FAILED', async () => {
    for (const q of [
      'hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1',
      `hub.mode=unsubscribe&hub.verify_token=${SHARED_VERIFY}&hub.challenge=1`,
      `hub.mode=subscribe&hub.verify_token=${SHARED_VERIFY}`,
      'hub.mode=subscribe&hub.challenge=1',
      '',
    ]) {
      const r = await handshake(q);
      assert.equal(r.statusCode, 403, q);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      assert.equal(r.json().code, 'WEBHOOK_VERIFY_FAILED');
      assert.ok(!r.body.includes(SHARED_VERIFY), 'never echoes a token');
    }
  });

  it('refuses unsigned, mis-signed and foreign-signed POSTs with 401, storing nothing', async () => {
    const b = await t.business();
    const env = inboundText({ phoneNumberId: b.phoneNumberId, from: '447911123456', text: 'STOP' });
    const raw = metaJson(env);
    const before = await inboxCount(t);
    const attempts: Record<string, string | undefined> = {
      unsigned: undefined,
      garbage: 'sha256=zzzz',
      wrongPrefix: signMetaBody(raw, SHARED_SECRET).replace('sha256=', 'sha1='),
      otherSecret: signMetaBody(raw, 'some-other-app-secret'),
      // A valid signature of different bytes (the body re-serialised without Meta's \u escapes is the classic bug).
      otherBytes: signMetaBody(JSON.stringify(JSON.parse(raw)) + ' ', SHARED_SECRET),
    };
    for (const [name, sig] of Object.entries(attempts)) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/webhooks/whatsapp',
        payload: raw,
        headers: { 'content-type': 'application/json', ...(sig ? { 'x-hub-signature-256': sig } : {}) },
      });
      assert.equal(r.statusCode, 401, name);
      assert.equal(r.json().code, 'WEBHOOK_SIGNATURE_INVALID', name);
    }
    assert.equal(await inboxCount(t), before, 'nothing stored');
  });

  it("accepts a business's own app secret for its number, and the shared secret for a number on the shared app, over the exact bytes (non-ASCII escaped)", async () => {
    const own = await t.business();
    const shared = await t.business({ sharedApp: true });
    for (const [b, secret] of [
      [own, own.appSecret],
      [shared, SHARED_SECRET],
    ] as const) {
      const r = await t.post(
        inboundText({ phoneNumberId: b.phoneNumberId, from: '447911123456', text: 'Olá, ¿qué tal? 👋' }),
        secret,
      );
      assert.equal(r.statusCode, 200, r.body);
    }
  });

  it('answers malformed JSON and an unusable envelope with 400, storing nothing', async () => {
    const before = await inboxCount(t);
    for (const [raw, code] of [
      ['{"object": "whatsapp_business_account", "entry": [', 'MALFORMED_JSON'],
      ['{"object":"page","entry":[]}', 'VALIDATION_FAILED'],
      ['[1,2]', 'VALIDATION_FAILED'],
      ['{"object":"whatsapp_business_account","entry":{}}', 'VALIDATION_FAILED'],
    ] as const) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/webhooks/whatsapp',
        payload: raw,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, SHARED_SECRET) },
      });
      assert.equal(r.statusCode, 400, raw);
      assert.equal(r.json().code, code, raw);
    }
    assert.equal(await inboxCount(t), before);
  });

  it('refuses a body over the limit and a non-JSON content type without storing', async () => {
    const raw = 'x=1';
    const r = await t.app.inject({
      method: 'POST',
      url: '/webhooks/whatsapp',
      payload: raw,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-hub-signature-256': signMetaBody(raw, SHARED_SECRET),
      },
    });
    assert.equal(r.statusCode, 415);
    const big = metaJson({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(4 * 1024 * 1024) });
    const r2 = await t.app.inject({
      method: 'POST',
      url: '/webhooks/whatsapp',
      payload: big,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(big, SHARED_SECRET) },
    });
    assert.equal(r2.statusCode, 413);
    assert.equal(r2.json().code, 'BODY_TOO_LARGE');
  });
});
