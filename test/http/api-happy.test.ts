import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';

forEachDialect('HTTP API: happy paths', (db) => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp(db());
  });
  after(async () => {
    await t.app.close();
  });

  it('serves health, readiness, OpenAPI and the docs page', async () => {
    assert.equal((await t.call('GET', '/healthz', null)).json().status, 'ok');
    assert.equal((await t.call('GET', '/readyz', null)).json().status, 'ready');
    const spec = (await t.call('GET', '/openapi.json', null)).json();
    assert.equal(spec.openapi, '3.0.3');
    for (const p of ['/v1/opt-ins', '/v1/opt-outs', '/v1/decisions', '/v1/messages', '/v1/people/{id}/proof'])
      assert.ok(spec.paths[p], `spec documents ${p}`);
    const docs = await t.call('GET', '/docs/', null);
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });

  it('records an opt-in, answers the gate, queues a message, honours an opt-out', async () => {
    const b = await t.newBusiness('Corner Shop');
    const optIn = await t.call('POST', '/v1/opt-ins', b.key, {
      person: { phone: '+44 7911 123456' },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.textHash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(optIn.statusCode, 201, optIn.body);
    const { personId, confirmationMessageId } = optIn.json();
    assert.ok(confirmationMessageId);

    const dec = await t.call('POST', '/v1/decisions', b.key, { person: { phone: PHONE_A }, topic: 'delivery' });
    assert.equal(dec.json().outcome, 'allow');

    const msg = await t.call(
      'POST',
      '/v1/messages',
      b.key,
      {
        person: { phone: PHONE_A },
        topic: 'delivery',
        template: { name: 'order_shipped', language: 'en', bodyParams: ['A123'] },
      },
      { 'idempotency-key': 'order-A123' },
    );
    assert.equal(msg.statusCode, 202, msg.body);
    const again = await t.call(
      'POST',
      '/v1/messages',
      b.key,
      {
        person: { phone: PHONE_A },
        topic: 'delivery',
        template: { name: 'order_shipped', language: 'en', bodyParams: ['A123'] },
      },
      { 'idempotency-key': 'order-A123' },
    );
    assert.equal(again.json().message.id, msg.json().message.id, 'same Idempotency-Key, same message');
    assert.equal(again.json().replay, true);

    const out = await t.call('POST', '/v1/opt-outs', b.key, {
      person: { phone: PHONE_A },
      scope: 'all',
      channel: 'api',
      action: 'staff_request',
      evidence: { ticket: 'T-1' },
    });
    assert.equal(out.statusCode, 201, out.body);
    assert.equal(out.json().cancelledMessages, 2);
    const m = await t.call('GET', `/v1/messages/${msg.json().message.id}`, b.key);
    assert.equal(m.json().status, 'cancelled');

    const refused = await t.call('POST', '/v1/messages', b.key, {
      person: { phone: PHONE_A },
      topic: 'delivery',
      template: { name: 'x', language: 'en' },
    });
    assert.equal(refused.statusCode, 422);
    assert.equal(refused.json().code, 'SEND_REFUSED');
    assert.equal(refused.json().decision.reasons[0].code, 'OPTED_OUT');
    assert.deepEqual(refused.json().decision.reasons[0].eventIds, [out.json().eventId]);

    const person = (await t.call('GET', `/v1/people/${personId}`, b.key)).json();
    assert.deepEqual(
      person.consent.map((c: { topic: string; status: string }) => [c.topic, c.status]),
      [
        ['billing', 'opted_out'],
        ['delivery', 'opted_out'],
      ],
    );
    const events = (await t.call('GET', `/v1/people/${personId}/events`, b.key)).json().data;
    assert.deepEqual(
      events.map((e: { type: string }) => e.type),
      ['opt_in', 'opt_out'],
    );
    assert.equal(events[0].evidence.userAgent, 'Mozilla/5.0');
    const proof = (await t.call('GET', `/v1/people/${personId}/proof`, b.key)).json();
    assert.equal(proof.chain.ok, true);
    assert.equal(proof.texts[0].hash, b.textHash);
    const lookup = (await t.call('GET', `/v1/people?phone=${encodeURIComponent('+44 7911 123456')}`, b.key)).json();
    assert.equal(lookup.data[0].id, personId);
    assert.equal((await t.call('GET', '/v1/ledger/verify', b.key)).json().ok, true);
  });

  it('reports each failed opt-in text check in plain words', async () => {
    const b = await t.newBusiness('Bakery Ltd');
    const r = await t.call('POST', '/v1/texts', b.key, {
      name: 'bad',
      language: 'en',
      topicKeys: ['delivery'],
      body: 'We will text you sometimes about stuff.',
    });
    assert.equal(r.statusCode, 201);
    const failed = r
      .json()
      .checks.filter((c: { passed: boolean }) => !c.passed)
      .map((c: { rule: string }) => c.rule);
    assert.deepEqual(failed.sort(), ['names_business', 'names_message_types', 'opt_out_instructions', 'says_whatsapp']);
    assert.equal(r.json().usable, false);
    const use = await t.call('POST', '/v1/opt-ins', b.key, {
      person: { phone: PHONE_A },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: r.json().hash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(use.json().code, 'TEXT_CHECK_FAILED');
  });

  it('paginates with cursors', async () => {
    const b = await t.newBusiness();
    for (let i = 0; i < 5; i++) {
      await t.call('POST', '/v1/opt-ins', b.key, {
        person: { phone: `+1415555${2670 + i}` },
        topics: ['billing'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.textHash,
        evidence: WEB_EVIDENCE,
      });
    }
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await t.call('GET', `/v1/people?limit=2${cursor ? `&cursor=${cursor}` : ''}`, b.key);
      for (const p of r.json().data) seen.add(p.id);
      cursor = r.json().nextCursor;
      pages++;
    } while (cursor);
    assert.equal(seen.size, 5);
    assert.equal(pages, 3);
  });
});
