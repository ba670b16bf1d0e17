import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { PHONE_A, WEB_EVIDENCE } from '../helpers/http.js';
import { seedCaptureBusiness } from '../helpers/capture.js';
import { buildFullApp, type FullApp } from '../e2e/fuzz/full-app.js';

const NUL = '\u0000';
const LONE_HIGH = '\uD83D';
const LONE_LOW = '\uDE00';

/** JSON text nested `levels` deep (built as text: JSON.stringify itself overflows the stack on such values). */
const nested = (levels: number, leaf: string, kind: 'object' | 'array') =>
  kind === 'array'
    ? `${'['.repeat(levels)}${leaf}${']'.repeat(levels)}`
    : `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;

/** A JSON body with `slot` replaced by raw JSON text. */
const withRaw = (body: object, slot: string, raw: string) => JSON.stringify(body).replace(`"${slot}"`, raw);

forEachDialect('Hostile strings and nesting are refused with 400, nothing written', (db) => {
  let t: FullApp;
  let s: Awaited<ReturnType<typeof seedCaptureBusiness>>;
  const events = async () =>
    Number(
      (
        await t.ctx.database.db
          .selectFrom('consent_events')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const good = () => ({
    person: { phone: PHONE_A },
    topics: ['delivery'],
    channel: 'web',
    action: 'checked_box',
    textHash: s.text.hash,
    evidence: { ...WEB_EVIDENCE },
  });

  before(async () => {
    t = await buildFullApp(db());
    s = await seedCaptureBusiness(t.ctx);
  });
  after(async () => {
    await t.close();
  });

  async function refused(
    opts: { method?: string; url?: string; payload?: unknown; raw?: string; headers?: Record<string, string> },
    field: string | RegExp,
  ) {
    const before = await events();
    const res = await t.app.inject({
      method: (opts.method ?? 'POST') as 'POST',
      url: opts.url ?? '/v1/opt-ins',
      headers: {
        authorization: `Bearer ${s.apiKey}`,
        ...(opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.raw !== undefined
        ? { payload: opts.raw }
        : opts.payload !== undefined
          ? { payload: opts.payload as object }
          : {}),
    });
    assert.equal(res.statusCode, 400, res.body);
    const p = res.json();
    assert.equal(p.code, 'VALIDATION_FAILED');
    const fields = (p.errors ?? []).map((e: { field: string }) => e.field);
    assert.ok(
      fields.some((f: string) => (typeof field === 'string' ? f === field : field.test(f))),
      `names ${field}: ${res.body}`,
    );
    assert.equal(await events(), before, 'nothing written');
    return p;
  }

  const stringCases: [string, (v: string) => object, string][] = [
    ['person.phone', (v) => ({ ...good(), person: { phone: v } }), 'person.phone'],
    ['person.waId', (v) => ({ ...good(), person: { waId: v } }), 'person.waId'],
    ['an evidence value', (v) => ({ ...good(), evidence: { ...WEB_EVIDENCE, note: v } }), 'evidence.note'],
    ['an evidence key', (v) => ({ ...good(), evidence: { ...WEB_EVIDENCE, [`k${v}`]: 1 } }), 'evidence'],
    ['a topic', (v) => ({ ...good(), topics: [`delivery${v}`] }), 'topics[0]'],
    ['language', (v) => ({ ...good(), language: `en${v}` }), 'language'],
  ];
  for (const [name, make, field] of stringCases) {
    for (const [what, bad] of [
      ['a NUL', `x${NUL}y`],
      ['a lone high surrogate', `x${LONE_HIGH}`],
      ['a lone low surrogate', `${LONE_LOW}x`],
    ] as const) {
      it(`${what} in ${name} → 400 naming ${field}`, async () => {
        await refused({ payload: make(bad) }, field);
      });
    }
  }

  it('a NUL in a path parameter, a query string and a header → 400 naming it', async () => {
    await refused({ method: 'GET', url: '/v1/people/per_%00abc' }, 'params.id');
    await refused({ method: 'GET', url: '/v1/people?phone=%2B44%00' }, 'querystring.phone');
  });

  it('a NUL in an opt-out and in a business name → 400 on every create', async () => {
    await refused(
      {
        url: '/v1/opt-outs',
        payload: { person: { phone: `+44${NUL}` }, scope: 'all', channel: 'web', action: 'clicked_link' },
      },
      'person.phone',
    );
    await refused(
      {
        url: '/v1/opt-outs',
        payload: {
          person: { phone: PHONE_A },
          scope: 'all',
          channel: 'web',
          action: 'clicked_link',
          evidence: { why: NUL },
        },
      },
      'evidence.why',
    );
    await refused({ method: 'PATCH', url: '/v1/business', payload: { displayName: `Shop${NUL}` } }, 'displayName');
    await refused({ url: '/v1/replies', payload: { person: { phone: PHONE_A }, text: `hi${LONE_HIGH}` } }, 'text');
  });

  it('a 900 KB id and a 900 KB idempotency key → 400, not a database error', async () => {
    await refused({ payload: { ...good(), person: { personId: `per_${'a'.repeat(900_000)}` } } }, 'person.personId');
    await refused(
      {
        url: '/v1/opt-outs',
        payload: { person: { phone: PHONE_A }, scope: 'all', channel: 'web', action: 'clicked_link' },
        headers: { 'idempotency-key': 'k'.repeat(70_000) },
      },
      'headers.idempotency-key',
    );
  });

  it('a 5,000-level evidence object and 20,000 nested arrays → 400, no stack overflow', async () => {
    await refused(
      {
        raw: withRaw({ ...good(), evidence: { ...WEB_EVIDENCE, deep: '@deep' } }, '@deep', nested(5000, '1', 'object')),
      },
      /^evidence\.deep/,
    );
    await refused(
      { raw: withRaw({ ...good(), topics: '@deep' }, '@deep', nested(20_000, '"delivery"', 'array')) },
      /^topics/,
    );
    await refused({ raw: nested(100_000, '1', 'array') }, /^body$|^\[0\]/);
  });

  it('a hosted-page form with a NUL is refused before anything is written', async () => {
    const before = await events();
    const res = await t.app.inject({
      method: 'POST',
      url: `/p/${s.business.slug}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `phone=%2B44%00&topics=delivery`,
    });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.body.slice(0, 200)}`);
    assert.equal(await events(), before);
  });
});
