import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { forEachDialect } from '../helpers/db.js';
import { seedCaptureBusiness } from '../helpers/capture.js';
import { buildFullApp, type FullApp } from '../e2e/fuzz/full-app.js';
import { call as voiceCall, configureTwilioChannel, twilioPost } from './capture/helpers.js';
import { PHONE_A, PHONE_B, WEB_EVIDENCE } from '../helpers/http.js';

const N = 8;

/** N identical requests started together; every answer, in order. */
const together = (send: () => Promise<LightMyRequestResponse>) => Promise.all(Array.from({ length: N }, send));

const statuses = (rs: LightMyRequestResponse[]) => rs.map((r) => r.statusCode).sort((a, b) => a - b);

function noServerError(rs: LightMyRequestResponse[]) {
  for (const r of rs) assert.ok(r.statusCode < 500, `a ${r.statusCode}: ${r.body}`);
}

/** Concurrent duplicates answer as sequential ones would: one created, the rest replays (or conflicts). */
function oneCreated(rs: LightMyRequestResponse[], rest: number) {
  noServerError(rs);
  assert.deepEqual(
    statuses(rs),
    [...Array(N - 1).fill(rest), 201].sort((a, b) => a - b),
    rs.map((r) => r.body).join('\n'),
  );
}

forEachDialect('Concurrent identical creates', (db) => {
  let t: FullApp;
  let adminKey: string;
  const req =
    (method: 'POST' | 'PUT', url: string, key: string, payload: object, headers: Record<string, string> = {}) =>
    () =>
      t.app.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...headers }, payload });

  before(async () => {
    t = await buildFullApp(db());
    adminKey = t.adminKey;
  });
  after(async () => {
    await t.close();
  });

  it(`${N} identical POST /v1/opt-outs with one Idempotency-Key: one 201, the rest replay the same event`, async () => {
    const s = await seedCaptureBusiness(t.ctx);
    const rs = await together(
      req(
        'POST',
        '/v1/opt-outs',
        s.apiKey,
        { person: { phone: PHONE_A }, scope: 'all', channel: 'web', action: 'clicked_link' },
        { 'idempotency-key': 'oo-1' },
      ),
    );
    oneCreated(rs, 200);
    assert.equal(new Set(rs.map((r) => r.json().eventId)).size, 1);
    const events = await t.ctx.database.db
      .selectFrom('consent_events')
      .select('id')
      .where('business_id', '=', s.business.id)
      .execute();
    assert.equal(events.length, 1);
  });

  it(`${N} identical POST /v1/opt-ins with one Idempotency-Key: one 201, the rest replay`, async () => {
    const s = await seedCaptureBusiness(t.ctx);
    const body = {
      person: { phone: PHONE_B },
      topics: [s.topics.delivery.key],
      channel: 'web',
      action: 'checked_box',
      textHash: s.text.hash,
      evidence: WEB_EVIDENCE,
    };
    const rs = await together(req('POST', '/v1/opt-ins', s.apiKey, body, { 'idempotency-key': 'oi-1' }));
    oneCreated(rs, 200);
    assert.equal(new Set(rs.map((r) => r.json().eventId)).size, 1);
  });

  it(`${N} first calls at once to /webhooks/twilio/voice of a fresh business: every caller hears the same menu`, async () => {
    const s = await seedCaptureBusiness(t.ctx, { name: 'Fresh Voice' });
    await configureTwilioChannel(t.app, s.apiKey);
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        twilioPost(t.app, '/webhooks/twilio/voice', voiceCall(`+1415555${String(3100 + i)}`)),
      ),
    );
    noServerError(rs);
    for (const r of rs) assert.equal(r.statusCode, 200, r.body);
    assert.equal(new Set(rs.map((r) => /text=([0-9a-f]{64})/.exec(r.body)?.[1])).size, 1, 'one registered menu text');
  });

  it(`${N} identical POST /v1/businesses: one 201, the rest 409`, async () => {
    oneCreated(
      await together(req('POST', '/v1/businesses', adminKey, { slug: 'same-slug', displayName: 'Same' })),
      409,
    );
  });

  it(`${N} identical POST /v1/topics: one 201, the rest 409`, async () => {
    const s = await seedCaptureBusiness(t.ctx);
    oneCreated(
      await together(
        req('POST', '/v1/topics', s.apiKey, { key: 'same-topic', name: 'Same topic', category: 'utility' }),
      ),
      409,
    );
  });

  it(`${N} identical POST /v1/keys: each is a new key (as sequential ones are)`, async () => {
    const s = await seedCaptureBusiness(t.ctx);
    const rs = await together(req('POST', '/v1/keys', s.apiKey, { name: 'ci' }));
    assert.deepEqual(statuses(rs), Array(N).fill(201));
    assert.equal(new Set(rs.map((r) => r.json().key)).size, N);
  });

  it(`${N} identical PUTs of channels and capture settings: all 200, one row each`, async () => {
    const s = await seedCaptureBusiness(t.ctx);
    const puts: [string, object][] = [
      [
        '/v1/channels/whatsapp',
        { phoneNumberId: `pn-same-${s.business.id}`, accessToken: 'token-1', appSecret: 'secret-1' },
      ],
      [
        '/v1/channels/twilio',
        { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'twilio-token-000001', from: '+16285559876' },
      ],
      ['/v1/channels/smtp', { url: 'smtp://127.0.0.1:2525', from: 'Shop <shop@example.com>' }],
      ['/v1/capture-settings', { ownershipCheck: false }],
    ];
    for (const [url, body] of puts) {
      const rs = await together(req('PUT', url, s.apiKey, body));
      noServerError(rs);
      assert.deepEqual(statuses(rs), Array(N).fill(200), `${url}: ${rs.map((r) => r.body).join('\n')}`);
    }
    const rows = await t.ctx.database.db
      .selectFrom('channel_accounts')
      .select('provider')
      .where('business_id', '=', s.business.id)
      .execute();
    assert.deepEqual(rows.map((r) => r.provider).sort(), ['smtp', 'twilio', 'whatsapp_cloud']);
  });

  it(`${N} identical POST /v1/people/:id/erase: all 200, one erasure`, async () => {
    const s = await seedCaptureBusiness(t.ctx);
    const out = await req('POST', '/v1/opt-outs', s.apiKey, {
      person: { phone: '+447911123499' },
      scope: 'all',
      channel: 'web',
      action: 'clicked_link',
    })();
    const personId = out.json().personId as string;
    const rs = await together(req('POST', `/v1/people/${personId}/erase`, s.apiKey, {}));
    noServerError(rs);
    assert.deepEqual(statuses(rs), Array(N).fill(200), rs.map((r) => r.body).join('\n'));
    assert.equal(rs.filter((r) => r.json().alreadyErased === false).length, 1);
  });
});
