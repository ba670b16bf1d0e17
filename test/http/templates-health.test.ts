// GET /v1/templates/health and POST /v1/templates/{name}/resume (issue 14): what the business sent or Meta
// reported, who paused what (with the rate that tripped the guard), each number's latest quality; staff lift only
// the guard's pause. Both dialects; the guard itself runs (services/quality/guard-templates.ts).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import { guardTemplates } from '../../src/services/quality/guard-templates.js';
import { insertQualityEvent } from '../../src/storage/quality/quality-events-store.js';
import { noteMetaTemplate, stopTemplate } from '../../src/storage/quality/template-health-store.js';

const phone = (i: number) => `+4479111234${String(i).padStart(2, '0')}`;
const GUARD = { optOutRate: 0.02, minRecipients: 10, windowHours: 24 };

forEachDialect('templates health and resume', (db) => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp(db());
  });
  after(async () => {
    await t.app.close();
  });

  /**
   * A business whose 'spring_sale' the guard paused (1 opt-out in 12), 'order_update' sent 4 times, 'promo' paused by
   * Meta.
   */
  async function pausedBusiness() {
    const b = await t.newBusiness();
    assert.equal((await t.call('PATCH', '/v1/business', b.key, { policy: { templateGuard: GUARD } })).statusCode, 200);
    for (let i = 0; i < 16; i++) {
      const optIn = await t.call('POST', '/v1/opt-ins', b.key, {
        person: { phone: phone(i) },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.textHash,
        evidence: WEB_EVIDENCE,
      });
      assert.equal(optIn.statusCode, 201, optIn.body);
      const name = i < 12 ? 'spring_sale' : 'order_update';
      const q = await t.call('POST', '/v1/messages', b.key, {
        person: { phone: phone(i) },
        topic: 'delivery',
        template: { name, language: 'en' },
      });
      assert.equal(q.json().outcome, 'queued', q.body);
    }
    // They left (what the worker records), then one spring_sale recipient in 12 opts out within the hour.
    await db()
      .db.updateTable('messages')
      .set({ status: 'sent', sent_at: t.ctx.clock.now() })
      .where('business_id', '=', b.id)
      .where('kind', '=', 'notification')
      .execute();
    t.ctx.clock.advance(3_600_000);
    assert.equal(
      (
        await t.call('POST', '/v1/opt-outs', b.key, {
          person: { phone: phone(0) },
          scope: 'all',
          channel: 'api',
          action: 'staff_request',
        })
      ).statusCode,
      201,
    );
    assert.deepEqual(
      (await guardTemplates(t.ctx, { businessId: b.id })).paused.map((p) => p.template),
      ['spring_sale'],
    );
    const now = t.ctx.clock.now();
    await db()
      .db.transaction()
      .execute(async (trx) => {
        await noteMetaTemplate(trx, b.id, 'promo', { status: 'PAUSED' }, now);
        await stopTemplate(
          trx,
          { businessId: b.id, name: 'promo', status: 'paused', by: 'meta', reason: 'meta_paused', detail: {} },
          now,
        );
        const number = (event: string, ref: string, at: number, subject = '15550100999') =>
          insertQualityEvent(
            trx,
            {
              businessId: b.id,
              kind: 'number_quality',
              subject,
              event,
              detail: { currentLimit: 'TIER_10K' },
              sourceRef: ref,
            },
            at,
          );
        await number('FLAGGED', `q1-${b.id}`, now - 2000);
        await number('UNFLAGGED', `q2-${b.id}`, now - 1000);
        await number('DOWNGRADE', `q3-${b.id}`, now - 1500, '15550100888');
      });
    return b;
  }

  it("lists every template sent or reported, who paused it and why, and each number's latest quality", async () => {
    const b = await pausedBusiness();
    const r = await t.call('GET', '/v1/templates/health', b.key);
    assert.equal(r.statusCode, 200, r.body);
    const byName = Object.fromEntries(r.json().templates.map((x: { name: string }) => [x.name, x]));
    assert.deepEqual(Object.keys(byName), ['order_update', 'promo', 'spring_sale']);
    const spring = byName.spring_sale;
    assert.deepEqual(
      [spring.status, spring.pausedBy, spring.reason, spring.resumable, spring.sentLast30Days],
      ['paused', 'opt_out_guard', 'opt_out_rate', true, 12],
    );
    assert.deepEqual(spring.guard, {
      optOutRate: 1 / 12,
      optOuts: 1,
      notifications: 12,
      windowHours: 24,
      threshold: 0.02,
    });
    assert.deepEqual(
      [byName.order_update.status, byName.order_update.pausedBy, byName.order_update.sentLast30Days],
      ['active', null, 4],
    );
    assert.deepEqual(
      [byName.promo.status, byName.promo.pausedBy, byName.promo.metaStatus, byName.promo.resumable, byName.promo.guard],
      ['paused', 'meta', 'PAUSED', false, null],
    );
    assert.deepEqual(
      r
        .json()
        .numbers.map((n: { phone: string; event: string; currentLimit: string }) => [n.phone, n.event, n.currentLimit]),
      [
        ['15550100999', 'UNFLAGGED', 'TIER_10K'],
        ['15550100888', 'DOWNGRADE', 'TIER_10K'],
      ],
    );
  });

  it("staff resume the guard's pause (sends allowed again, audited); Meta's pause is a 409 naming the field", async () => {
    const b = await pausedBusiness();
    const meta = await t.call('POST', '/v1/templates/promo/resume', b.key);
    assert.equal(meta.statusCode, 409, meta.body);
    assert.equal(meta.json().code, 'CONFLICT');
    assert.deepEqual(
      meta.json().errors.map((e: { field: string }) => e.field),
      ['name'],
    );
    assert.match(meta.json().detail, /only Meta can lift it/);

    const ok = await t.call('POST', '/v1/templates/spring_sale/resume', b.key);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(
      [ok.json().resumed, ok.json().template.status, ok.json().template.guard, ok.json().template.resumedAt],
      [true, 'active', null, t.ctx.clock.now()],
    );
    const q = await t.call('POST', '/v1/messages', b.key, {
      person: { phone: phone(5) },
      topic: 'delivery',
      template: { name: 'spring_sale', language: 'en' },
    });
    assert.equal(q.json().outcome, 'queued', q.body);
    const again = await t.call('POST', '/v1/templates/spring_sale/resume', b.key);
    assert.deepEqual([again.statusCode, again.json().resumed], [200, false]);
    const audit = await db()
      .db.selectFrom('audit_log')
      .select(['action', 'target'])
      .where('business_id', '=', b.id)
      .where('action', '=', 'template.resume')
      .execute();
    assert.deepEqual(audit, [{ action: 'template.resume', target: 'spring_sale' }]);
    const after = await t.call('GET', '/v1/templates/health', b.key);
    assert.equal(
      after.json().templates.find((x: { name: string }) => x.name === 'promo').status,
      'paused',
      "Meta's pause stays",
    );
  });

  it('a guard pause Meta also reports PAUSED stays until Meta lifts it (409 naming the field)', async () => {
    const b = await pausedBusiness();
    await db()
      .db.transaction()
      .execute((trx) => noteMetaTemplate(trx, b.id, 'spring_sale', { status: 'PAUSED' }, t.ctx.clock.now()));
    const r = await t.call('POST', '/v1/templates/spring_sale/resume', b.key);
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().errors[0].field, 'name');
    assert.match(r.json().detail, /metaStatus/);
    const h = await t.call('GET', '/v1/templates/health', b.key);
    assert.equal(h.json().templates.find((x: { name: string }) => x.name === 'spring_sale').resumable, false);
  });

  it('bad input and roles: unknown template 404, a control character 400, an over-long name 414, no key 401, a read key may look but not resume', async () => {
    const b = await pausedBusiness();
    const unknown = await t.call('POST', '/v1/templates/nope/resume', b.key);
    assert.deepEqual(
      [unknown.statusCode, unknown.json().code, unknown.json().errors[0].field],
      [404, 'NOT_FOUND', 'name'],
    );
    assert.equal(
      (await t.call('POST', `/v1/templates/${'x'.repeat(513)}/resume`, b.key)).statusCode,
      414,
      'longer than a path allows',
    );
    const control = await t.call('POST', '/v1/templates/spring%00sale/resume', b.key);
    assert.deepEqual([control.statusCode, control.json().code], [400, 'VALIDATION_FAILED'], control.body);
    assert.equal((await t.call('GET', '/v1/templates/health', null)).statusCode, 401);
    const read = (
      await createApiKey(t.ctx, { businessId: b.id, name: 'support', role: 'read' } as Parameters<
        typeof createApiKey
      >[1])
    ).key;
    assert.equal((await t.call('GET', '/v1/templates/health', read)).statusCode, 200);
    const denied = await t.call('POST', '/v1/templates/spring_sale/resume', read);
    assert.deepEqual([denied.statusCode, denied.json().code], [403, 'FORBIDDEN']);
    const h = await t.call('GET', '/v1/templates/health', b.key);
    assert.equal(
      h.json().templates.find((x: { name: string }) => x.name === 'spring_sale').status,
      'paused',
      'nothing changed',
    );
  });

  it("another business's key sees none of it and cannot resume it", async () => {
    const b = await pausedBusiness();
    const other = await t.newBusiness();
    const r = await t.call('GET', '/v1/templates/health', other.key);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { templates: [], numbers: [] });
    const resume = await t.call('POST', '/v1/templates/spring_sale/resume', other.key);
    assert.equal(resume.statusCode, 404, resume.body);
    const h = await t.call('GET', '/v1/templates/health', b.key);
    assert.equal(h.json().templates.find((x: { name: string }) => x.name === 'spring_sale').status, 'paused');
  });
});
