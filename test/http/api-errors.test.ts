import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';

async function counts(t: TestApp) {
  const db = t.ctx.database.db;
  const n = async (table: 'consent_events' | 'people' | 'messages' | 'topics') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    events: await n('consent_events'),
    people: await n('people'),
    messages: await n('messages'),
    topics: await n('topics'),
  };
}

forEachDialect('HTTP API: bad input', (db) => {
  let t: TestApp;
  let b: { id: string; key: string; textHash: string };
  const good = () => ({
    person: { phone: PHONE_A },
    topics: ['delivery'],
    channel: 'web',
    action: 'checked_box',
    textHash: b.textHash,
    evidence: WEB_EVIDENCE,
  });
  before(async () => {
    t = await buildTestApp(db());
    b = await t.newBusiness('Error Shop');
  });
  after(async () => {
    await t.app.close();
  });

  const cases: [
    string,
    () => { body?: unknown; raw?: string; headers?: Record<string, string> },
    number,
    string,
    string | null,
  ][] = [
    [
      'malformed JSON',
      () => ({ raw: '{"person": {', headers: { 'content-type': 'application/json' } }),
      400,
      'MALFORMED_JSON',
      null,
    ],
    [
      'empty JSON body',
      () => ({ raw: '', headers: { 'content-type': 'application/json' } }),
      400,
      'MALFORMED_JSON',
      null,
    ],
    [
      'not JSON at all',
      () => ({ raw: 'phone=1', headers: { 'content-type': 'text/plain' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      null,
    ],
    ['unknown top-level field', () => ({ body: { ...good(), sneaky: 1 } }), 400, 'VALIDATION_FAILED', 'sneaky'],
    [
      'unknown nested field',
      () => ({ body: { ...good(), person: { phone: PHONE_A, extra: true } } }),
      400,
      'VALIDATION_FAILED',
      'person.extra',
    ],
    ['wrong type', () => ({ body: { ...good(), topics: 'delivery' } }), 400, 'VALIDATION_FAILED', 'topics'],
    [
      'number as string',
      () => ({ body: { ...good(), occurredAt: '1700000000000' } }),
      400,
      'VALIDATION_FAILED',
      'occurredAt',
    ],
    [
      'missing field',
      () => {
        const { channel: _c, ...rest } = good();
        return { body: rest };
      },
      400,
      'VALIDATION_FAILED',
      'channel',
    ],
    [
      'invalid phone',
      () => ({ body: { ...good(), person: { phone: '+44 12' } } }),
      422,
      'INVALID_PHONE',
      'person.phone',
    ],
    [
      'letters as phone',
      () => ({ body: { ...good(), person: { phone: 'call me maybe' } } }),
      422,
      'INVALID_PHONE',
      'person.phone',
    ],
    ['unknown topic', () => ({ body: { ...good(), topics: ['nonexistent'] } }), 422, 'UNKNOWN_TOPIC', 'topics'],
    ['no active action', () => ({ body: { ...good(), action: 'messaged_us_first' } }), 422, 'NO_USER_ACTION', 'action'],
    [
      'missing web evidence',
      () => ({ body: { ...good(), evidence: { ip: '1.1.1.1' } } }),
      422,
      'MISSING_EVIDENCE',
      'evidence.userAgent',
    ],
    [
      'missing text',
      () => {
        const { textHash: _t, ...rest } = good();
        return { body: rest };
      },
      422,
      'MISSING_EVIDENCE',
      'textHash',
    ],
    ['unknown text', () => ({ body: { ...good(), textHash: 'a'.repeat(64) } }), 422, 'UNKNOWN_TEXT', 'textHash'],
    [
      'future occurredAt',
      () => ({ body: { ...good(), occurredAt: Date.UTC(2030, 0, 1) } }),
      400,
      'VALIDATION_FAILED',
      'occurredAt',
    ],
    [
      'huge body',
      () => ({
        raw: JSON.stringify({ ...good(), evidence: { ...WEB_EVIDENCE, blob: 'x'.repeat(2 * 1024 * 1024) } }),
        headers: { 'content-type': 'application/json' },
      }),
      413,
      'BODY_TOO_LARGE',
      null,
    ],
  ];

  for (const [name, make, status, code, field] of cases) {
    it(`${name} → ${status} ${code}${field ? ` (${field})` : ''}, nothing written`, async () => {
      const before = await counts(t);
      const c = make();
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/opt-ins',
        headers: { authorization: `Bearer ${b.key}`, ...(c.headers ?? {}) },
        ...(c.raw !== undefined ? { payload: c.raw } : { payload: c.body as object }),
      });
      assert.equal(res.statusCode, status, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const p = res.json();
      assert.equal(p.code, code);
      assert.equal(p.status, status);
      assert.ok(p.requestId);
      assert.ok(!/at \w+ \(|node_modules|SQLITE|syntax error at/i.test(res.body), `no internals leak: ${res.body}`);
      if (field)
        assert.ok(
          p.errors?.some((e: { field: string }) => e.field === field),
          `names field ${field}: ${JSON.stringify(p.errors)}`,
        );
      assert.deepEqual(await counts(t), before);
    });
  }

  it('unknown routes, bad cursors and bad ids are clean 4xx', async () => {
    const r1 = await t.call('GET', '/v1/nope', b.key);
    assert.equal(r1.statusCode, 404);
    assert.equal(r1.json().code, 'ROUTE_NOT_FOUND');
    const r2 = await t.call('GET', '/v1/people?cursor=!!!', b.key);
    assert.equal(r2.json().code, 'INVALID_CURSOR');
    const r3 = await t.call('GET', '/v1/people?limit=100000', b.key);
    assert.equal(r3.json().code, 'VALIDATION_FAILED');
    assert.equal(r3.json().errors[0].field, 'querystring.limit');
    const r4 = await t.call('GET', '/v1/messages/msg_doesnotexist', b.key);
    assert.equal(r4.json().code, 'NOT_FOUND');
  });

  it('a WhatsApp id that belongs to someone else is a 409 naming the person, and nothing is written', async () => {
    const first = await t.call('POST', '/v1/opt-ins', b.key, {
      ...good(),
      person: { phone: '+447911123401', waId: '447911123401' },
    });
    assert.equal(first.statusCode, 201, first.body);
    const before = await counts(t);
    const r = await t.call('POST', '/v1/opt-ins', b.key, {
      ...good(),
      person: { phone: '+447911123402', waId: '447911123401' },
    });
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().code, 'CONFLICT');
    assert.equal(r.json().errors[0].field, 'person');
    assert.deepEqual(await counts(t), before);
    // A known person learning a WhatsApp id that is someone else's: the same answer.
    assert.equal(
      (await t.call('POST', '/v1/opt-ins', b.key, { ...good(), person: { phone: '+447911123403' } })).statusCode,
      201,
    );
    const known = await counts(t);
    const learn = await t.call('POST', '/v1/opt-ins', b.key, {
      ...good(),
      topics: ['billing'],
      person: { phone: '+447911123403', waId: '447911123401' },
    });
    assert.equal(learn.statusCode, 409, learn.body);
    assert.equal(learn.json().code, 'CONFLICT');
    assert.deepEqual(await counts(t), known);
  });

  it('an Idempotency-Key reused with another body is refused', async () => {
    const body = { person: { phone: PHONE_A }, topic: 'delivery', template: { name: 'a', language: 'en' } };
    await t.call('POST', '/v1/opt-ins', b.key, good());
    const first = await t.call('POST', '/v1/messages', b.key, body, { 'idempotency-key': 'k-1' });
    assert.equal(first.statusCode, 202, first.body);
    const second = await t.call(
      'POST',
      '/v1/messages',
      b.key,
      { ...body, template: { name: 'b', language: 'en' } },
      { 'idempotency-key': 'k-1' },
    );
    assert.equal(second.statusCode, 409);
    assert.equal(second.json().code, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('a bad policy names each bad field', async () => {
    const r = await t.call('PATCH', '/v1/business', b.key, {
      policy: { quietHours: { start: '22:00', end: '22:00', defaultTimezone: 'Mars/Olympus' } },
    });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().code, 'INVALID_POLICY');
    assert.deepEqual(
      r
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort(),
      ['policy.quietHours.defaultTimezone', 'policy.quietHours.end'],
    );
  });
});
