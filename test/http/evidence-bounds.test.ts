import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';

forEachDialect('Evidence is typed and bounded at the API', (db) => {
  let t: TestApp;
  let b: { id: string; key: string; textHash: string };
  const optIn = (evidence: object, headers: Record<string, string> = {}) =>
    t.call(
      'POST',
      '/v1/opt-ins',
      b.key,
      {
        person: { phone: PHONE_A },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.textHash,
        evidence,
      },
      headers,
    );
  const events = async () =>
    Number(
      (
        await t.ctx.database.db
          .selectFrom('consent_events')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  before(async () => {
    t = await buildTestApp(db());
    b = await t.newBusiness('Evidence Shop');
  });
  after(async () => {
    await t.app.close();
  });

  const bad: [string, unknown][] = [
    ['true', true],
    ['0', 0],
    ['[]', []],
    ['{}', {}],
    ['a 200 KB string', 'x'.repeat(200_000)],
    ['a lone surrogate', '\uD800'],
    ['a host name', 'example.com'],
  ];
  for (const [name, ip] of bad) {
    it(`a web opt-in whose ip is ${name} → 400 naming evidence.ip, nothing written`, async () => {
      const n = await events();
      const r = await optIn({ ...WEB_EVIDENCE, ip });
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().code, 'VALIDATION_FAILED');
      assert.ok(
        r.json().errors.some((e: { field: string }) => e.field === 'evidence.ip'),
        r.body,
      );
      assert.equal(await events(), n);
    });
  }

  it("a 900 KB evidence value, 9 KB of small ones, a javascript: pageUrl → 400; an opt-out's evidence too", async () => {
    const n = await events();
    for (const ev of [
      { ...WEB_EVIDENCE, blob: 'x'.repeat(900_000) },
      { ...WEB_EVIDENCE, ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(450)])) },
      { ...WEB_EVIDENCE, pageUrl: 'javascript:alert(1)' },
    ]) {
      const r = await optIn(ev);
      assert.equal(r.statusCode, 400, r.body.slice(0, 300));
    }
    const out = await t.call('POST', '/v1/opt-outs', b.key, {
      person: { phone: PHONE_A },
      scope: 'all',
      channel: 'web',
      action: 'clicked_link',
      evidence: { ip: 'nope' },
    });
    assert.equal(out.statusCode, 400);
    assert.equal(out.json().errors[0].field, 'evidence.ip');
    assert.equal(await events(), n);
  });

  it('an IPv6 address and unknown keys are kept as given', async () => {
    const r = await optIn({ ...WEB_EVIDENCE, ip: '2001:db8::1', campaign: { id: 'spring', tags: ['a', 'b'] } });
    assert.equal(r.statusCode, 201, r.body);
    const ev = await t.call('GET', `/v1/people/${r.json().personId}/events`, b.key);
    assert.deepEqual(ev.json().data[0].evidence.campaign, { id: 'spring', tags: ['a', 'b'] });
    assert.equal(ev.json().data[0].evidence.ip, '2001:db8::1');
  });
});
