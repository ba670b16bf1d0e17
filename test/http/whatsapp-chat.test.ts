import type { ReplyPayload } from '../../src/domain/messages.js';
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../helpers/whatsapp.js';
import { events, newNumber, personBy, replies } from '../helpers/whatsapp-people.js';
import { webEvidence } from '../helpers/seed.js';
import { inboundInteractive, inboundText } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { recordOptIn } from '../../src/services/consent/record-opt-in.js';
import { registerText } from '../../src/services/admin/manage-texts.js';
import { decideSend } from '../../src/services/dispatch/decide-send.js';
import { optInReplyId } from '../../src/domain/chat/actions.js';

forEachDialect('WhatsApp chat API', (db) => {
  let t: WaTestApp;
  before(async () => {
    t = await buildWaTestApp(db());
  });
  after(async () => {
    await t.close();
  });

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, key: string | null, body?: object) =>
    t.app.inject({
      method,
      url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(body ? { payload: body } : {}),
    });
  const writes = (phoneNumberId: string, digits: string, text = 'hi') =>
    t.deliver(inboundText({ phoneNumberId, from: digits, text, timestampMs: t.ctx.clock.now() }));

  it('the chat endpoints and the inbound webhook (documented for integrators, signed, no key) are in the OpenAPI document', async () => {
    const spec = (await call('GET', '/openapi.json', null)).json() as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    for (const p of [
      '/v1/whatsapp/opt-in-prompts',
      '/v1/replies',
      '/v1/channels/whatsapp',
      '/v1/review-items',
      '/v1/review-items/{id}/resolve',
      '/webhooks/whatsapp',
    ])
      assert.ok(spec.paths[p], p);
  });

  it('an opt-in prompt goes only inside the window, as buttons or a list under the opt-in text; Yes opts in', async () => {
    const b = await t.business();
    const n = newNumber();
    const closed = await call('POST', '/v1/whatsapp/opt-in-prompts', b.apiKey, {
      person: { phone: n.e164 },
      textHash: b.text.hash,
      style: 'buttons',
    });
    assert.equal(closed.statusCode, 409);
    assert.equal(closed.json().code, 'WINDOW_CLOSED');

    await writes(b.phoneNumberId, n.digits);
    const r = await call('POST', '/v1/whatsapp/opt-in-prompts', b.apiKey, {
      person: { phone: n.e164 },
      textHash: b.text.hash,
      style: 'buttons',
      buttonLabels: { yes: 'Yes please' },
    });
    assert.equal(r.statusCode, 202, r.body);
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const [prompt] = await replies(t.ctx.database.db, b.business.id, person.id);
    assert.equal(prompt!.id, r.json().messageId);
    assert.equal(prompt!.payload.purpose, 'optin_prompt');
    assert.equal(prompt!.payload.text, b.text.body);
    // Stored as the domain's prompt (domain/messages.ts); the worker renders it (test/worker/dispatch/render.test.ts).
    assert.deepEqual((prompt!.payload as ReplyPayload).prompt, {
      style: 'buttons',
      body: b.text.body,
      options: [
        { id: optInReplyId(b.text.hash), title: 'Yes please' },
        { id: 'optline:dismiss', title: 'No thanks' },
      ],
    });

    const list = await call('POST', '/v1/whatsapp/opt-in-prompts', b.apiKey, {
      person: { phone: n.e164 },
      textHash: b.text.hash,
      style: 'list',
    });
    assert.equal(list.statusCode, 202, list.body);
    const listPrompt = ((await replies(t.ctx.database.db, b.business.id, person.id))[1]!.payload as ReplyPayload)
      .prompt!;
    assert.equal(listPrompt.style, 'list');
    assert.deepEqual(
      listPrompt.options.map((x) => x.id),
      [optInReplyId(b.text.hash), 'optline:dismiss'],
    );

    // The person taps Yes: the prompt's text is the consent text, the tap the action.
    await t.deliver(
      inboundInteractive({
        phoneNumberId: b.phoneNumberId,
        from: n.digits,
        replyType: 'button_reply',
        id: optInReplyId(b.text.hash),
        title: 'Yes please',
        timestampMs: t.ctx.clock.now(),
      }),
    );
    assert.equal(
      (await decideSend(t.ctx, b.business.id, { person: { phone: n.e164 }, topic: 'delivery' })).outcome,
      'allow',
    );
    assert.deepEqual(
      (await events(t.ctx.database.db, b.business.id, person.id)).map((e) => [e.type, e.action, e.text_hash]),
      [['opt_in', 'tapped_button', b.text.hash]],
    );
  });

  it('refuses a prompt with an unusable, unknown or too long text, and closes the window after 24 h', async () => {
    const b = await t.business();
    const n = newNumber();
    await writes(b.phoneNumberId, n.digits);
    const bad = await registerText(t.ctx, b.business.id, {
      name: 'bad',
      language: 'en',
      topicKeys: ['delivery'],
      body: 'Get updates.',
    });
    const long = await registerText(t.ctx, b.business.id, {
      name: 'long',
      language: 'en',
      topicKeys: ['delivery'],
      body: `Yes, send me delivery updates from ${b.business.displayName} on WhatsApp. Reply STOP to opt out. ${'More words. '.repeat(100)}`,
    });
    assert.ok(long.usable);
    const cases: [string, number, string][] = [
      [bad.hash, 422, 'TEXT_CHECK_FAILED'],
      ['0'.repeat(64), 422, 'UNKNOWN_TEXT'],
      [long.hash, 400, 'VALIDATION_FAILED'],
    ];
    for (const [hash, status, code] of cases) {
      const r = await call('POST', '/v1/whatsapp/opt-in-prompts', b.apiKey, {
        person: { phone: n.e164 },
        textHash: hash,
        style: 'buttons',
      });
      assert.equal(r.statusCode, status, r.body);
      assert.equal(r.json().code, code);
    }
    const listOk = await call('POST', '/v1/whatsapp/opt-in-prompts', b.apiKey, {
      person: { phone: n.e164 },
      textHash: long.hash,
      style: 'list',
    });
    assert.equal(listOk.statusCode, 202, 'a list body may be longer (4096)');
    t.ctx.clock.advance(24 * 3_600_000 + 1000);
    const late = await call('POST', '/v1/replies', b.apiKey, { person: { phone: n.e164 }, text: 'Still there?' });
    assert.equal(late.json().code, 'WINDOW_CLOSED');
  });

  it('a support reply goes inside the window only, needs no consent, and is a reply, not a notification', async () => {
    const b = await t.business();
    const n = newNumber();
    assert.equal(
      (await call('POST', '/v1/replies', b.apiKey, { person: { phone: n.e164 }, text: 'Hello' })).statusCode,
      409,
    );
    await writes(b.phoneNumberId, n.digits, 'STOP');
    const r = await call('POST', '/v1/replies', b.apiKey, {
      person: { phone: n.e164 },
      text: 'Sorry to see you go. Your order still arrives Friday.',
    });
    assert.equal(r.statusCode, 202, r.body);
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    assert.deepEqual(
      (await replies(t.ctx.database.db, b.business.id, person.id)).map((x) => x.payload.purpose),
      ['optout_ack', 'support'],
    );
    assert.equal(
      (await call('POST', '/v1/replies', b.apiKey, { person: { phone: n.e164 }, text: '' })).statusCode,
      400,
    );
    assert.equal((await call('POST', '/v1/replies', null, { person: { phone: n.e164 }, text: 'x' })).statusCode, 401);
  });

  it('stores the WhatsApp channel with its secrets sealed and never returns them; a number belongs to one business', async () => {
    const a = await t.business();
    const b = await t.business();
    const body = {
      phoneNumberId: '555000111',
      wabaId: 'W1',
      displayPhoneNumber: '+44 20 7946 0000',
      ratePerSecond: 80,
      accessToken: 'EAAG-secret-token',
      appSecret: 'app-secret-xyz',
      verifyToken: 'verify-xyz',
    };
    const put = await call('PUT', '/v1/channels/whatsapp', a.apiKey, body);
    assert.equal(put.statusCode, 200, put.body);
    const get = await call('GET', '/v1/channels/whatsapp', a.apiKey);
    assert.deepEqual(
      { ...(get.json() as Record<string, unknown>), createdAt: 0, updatedAt: 0 },
      {
        phoneNumberId: '555000111',
        wabaId: 'W1',
        displayPhoneNumber: '+44 20 7946 0000',
        ratePerSecond: 80,
        hasAccessToken: true,
        hasAppSecret: true,
        hasVerifyToken: true,
        createdAt: 0,
        updatedAt: 0,
      },
    );
    for (const secret of ['EAAG-secret-token', 'app-secret-xyz', 'verify-xyz']) {
      assert.ok(!put.body.includes(secret) && !get.body.includes(secret));
      const raw = await t.ctx.database.db
        .selectFrom('channel_accounts')
        .select(['settings', 'secret_sealed'])
        .where('business_id', '=', a.business.id)
        .executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(raw).includes(secret), 'sealed at rest');
    }
    const taken = await call('PUT', '/v1/channels/whatsapp', b.apiKey, { ...body, accessToken: 'other' });
    assert.equal(taken.statusCode, 409);
    assert.equal(taken.json().code, 'CONFLICT');
    const fresh = await t.business();
    await t.ctx.database.db.deleteFrom('channel_accounts').where('business_id', '=', fresh.business.id).execute();
    assert.equal((await call('GET', '/v1/channels/whatsapp', fresh.apiKey)).statusCode, 404);
    // The new verify token passes the handshake at once.
    const hs = await t.app.inject({
      method: 'GET',
      url: '/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-xyz&hub.challenge=42',
    });
    assert.equal(hs.body, '42');
  });

  it('review items are listed for the business only and resolved once; opted_out records a staff opt-out pointing at the item', async () => {
    const b = await t.business();
    const other = await t.business();
    const n = newNumber();
    await recordOptIn(t.ctx, b.business.id, {
      person: { phone: n.e164 },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    t.ctx.clock.advance(1000);
    await writes(b.phoneNumberId, n.digits, 'please stop sending these');
    await writes(b.phoneNumberId, n.digits, 'can I cancel my order?');
    const list = await call('GET', '/v1/review-items', b.apiKey);
    assert.equal(list.statusCode, 200);
    const items = list.json().data as { id: string; reason: string; personId: string; detail: { text: string } }[];
    assert.deepEqual(items.map((i) => i.detail.text).sort(), ['can I cancel my order?', 'please stop sending these']);
    assert.equal((await call('GET', '/v1/review-items', other.apiKey)).json().data.length, 0);
    const stopItem = items.find((i) => i.detail.text.startsWith('please'))!;
    const cancelItem = items.find((i) => i.detail.text.startsWith('can'))!;

    assert.equal(
      (await call('POST', `/v1/review-items/${stopItem.id}/resolve`, other.apiKey, { resolution: 'opted_out' }))
        .statusCode,
      404,
    );
    const res = await call('POST', `/v1/review-items/${stopItem.id}/resolve`, b.apiKey, {
      resolution: 'opted_out',
      note: 'clearly wants out',
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.json().optOutEventId);
    assert.equal(
      (await decideSend(t.ctx, b.business.id, { person: { phone: n.e164 }, topic: 'delivery' })).reasons[0]?.code,
      'OPTED_OUT',
    );
    const ev = (await events(t.ctx.database.db, b.business.id, stopItem.personId)).at(-1)!;
    assert.deepEqual(
      [ev.type, ev.scope, ev.action, ev.source_ref],
      ['opt_out', 'all', 'staff_request', `review:${stopItem.id}`],
    );
    const evidence = JSON.parse(
      (
        await t.ctx.database.db
          .selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', ev.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(evidence.reviewItemId, stopItem.id);

    const again = await call('POST', `/v1/review-items/${stopItem.id}/resolve`, b.apiKey, { resolution: 'no_action' });
    assert.equal(again.statusCode, 409);
    assert.equal(
      (await call('POST', `/v1/review-items/${cancelItem.id}/resolve`, b.apiKey, { resolution: 'no_action' })).json()
        .item.resolution,
      'no_action',
    );
    assert.equal((await call('GET', '/v1/review-items', b.apiKey)).json().data.length, 0, 'open items only by default');
    assert.equal((await call('GET', '/v1/review-items?status=resolved', b.apiKey)).json().data.length, 2);
    assert.equal(
      (await call('POST', `/v1/review-items/${cancelItem.id}/resolve`, b.apiKey, { resolution: 'maybe' })).statusCode,
      400,
    );
  });
  it('erasure blanks the processed webhook items that carried the number; a late retry is still a duplicate', async () => {
    const b = await t.business();
    const other = newNumber();
    const n = newNumber();
    const envelope = inboundText({
      phoneNumberId: b.phoneNumberId,
      from: n.digits,
      text: 'STOP',
      timestampMs: t.ctx.clock.now(),
    });
    await t.deliver(envelope);
    await writes(b.phoneNumberId, n.digits, 'where is my parcel?');
    await writes(b.phoneNumberId, other.digits, 'hello');
    const inbox = () =>
      t.ctx.database.db
        .selectFrom('inbox')
        .select(['dedupe_key', 'payload', 'processed_at'])
        .where('business_id', '=', b.business.id)
        .execute();
    assert.equal((await inbox()).filter((r) => r.payload.includes(n.digits)).length, 2);
    const person = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const r = await call('POST', `/v1/people/${person.id}/erase`, b.apiKey, { reason: 'request' });
    assert.equal(r.statusCode, 200, r.body);
    const after = await inbox();
    assert.equal(after.length, 3, 'rows (and their provider ids) stay');
    assert.equal(after.filter((x) => x.payload.includes(n.digits)).length, 0, 'no payload holds the erased number');
    assert.equal(after.filter((x) => x.payload.includes(other.digits)).length, 1, "someone else's items are untouched");
    // Meta retries the STOP it already delivered: recognised by its id, nothing new is stored or recorded.
    await t.deliver(envelope);
    assert.equal((await inbox()).length, 3);
  });
});
