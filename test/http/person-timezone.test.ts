// Quiet hours in the recipient's own zone through the API: the zone a number gives (New York and Los Angeles
// defer at different times), a person's chosen zone (PUT /v1/people/{id}/timezone) that wins over it, public
// holidays, and the errors that name their field. Both dialects, clock injected.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { WEB_EVIDENCE } from '../helpers/http.js';

const NEW_YORK = '+1 212 555 0147';
const LOS_ANGELES = '+1 415 555 0132';

forEachDialect('recipient time zones and holidays', (db) => {
  let app: FastifyInstance;
  let adminKey: string;
  let ctx: ReturnType<typeof testContext>;
  const call = (method: string, url: string, key: string | null, body?: unknown): Promise<LightMyRequestResponse> =>
    app.inject({
      method: method as 'GET',
      url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(body !== undefined ? { payload: body as object } : {}),
    });

  before(async () => {
    ctx = testContext(db());
    const config = { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl: 'http://localhost:8080' };
    app = await buildApp({ ctx, config, capture: { smtp: { url: null, from: 'shop@example.test' } } });
    await app.ready();
    adminKey = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
  });
  after(async () => {
    await app.close();
  });

  async function business(quietHours: Record<string, unknown>) {
    const slug = `tz-${Math.random().toString(36).slice(2, 8)}`;
    const b = await call('POST', '/v1/businesses', adminKey, { slug, displayName: 'Zone Shop' });
    assert.equal(b.statusCode, 201, b.body);
    const made = await call('POST', `/v1/businesses/${b.json().id}/keys`, adminKey, { name: 'k' });
    const key = made.json().key as string;
    assert.equal((await call('PATCH', '/v1/business', key, { policy: { quietHours } })).statusCode, 200);
    const topic = { key: 'delivery', name: 'delivery updates', category: 'utility' };
    assert.equal((await call('POST', '/v1/topics', key, topic)).statusCode, 201);
    const body = 'Send me delivery updates from Zone Shop on WhatsApp. Reply STOP to opt out.';
    const text = await call('POST', '/v1/texts', key, { name: 'en', language: 'en', topicKeys: ['delivery'], body });
    const people: Record<string, string> = {};
    for (const phone of [NEW_YORK, LOS_ANGELES]) {
      const r = await call('POST', '/v1/opt-ins', key, {
        person: { phone },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.json().hash,
        evidence: WEB_EVIDENCE,
      });
      assert.equal(r.statusCode, 201, r.body);
      people[phone] = r.json().personId as string;
    }
    return { key, people };
  }
  const decideAt = async (key: string, phone: string, at: number) => {
    ctx.clock.set(at);
    const r = await call('POST', '/v1/decisions', key, { person: { phone }, topic: 'delivery' });
    assert.equal(r.statusCode, 200, r.body);
    type Reason = { code: string; message: string; timezone?: string; holiday?: { country: string; name: string } };
    return r.json() as { outcome: string; notBefore: number | null; reasons: Reason[] };
  };
  const night = { start: '21:00', end: '08:00', defaultTimezone: 'Europe/London' };

  it('a New York and a Los Angeles number defer until their own 08:00, and the reason names the zone', async () => {
    const { key, people } = await business(night);
    const at = Date.UTC(2026, 5, 2, 5, 0); // 01:00 in New York, 22:00 in Los Angeles, 06:00 in London
    const ny = await decideAt(key, NEW_YORK, at);
    assert.equal(ny.outcome, 'defer');
    assert.equal(ny.notBefore, Date.UTC(2026, 5, 2, 12, 0));
    assert.equal(ny.reasons[0]!.timezone, 'America/New_York');
    const la = await decideAt(key, LOS_ANGELES, at);
    assert.equal(la.notBefore, Date.UTC(2026, 5, 2, 15, 0));
    assert.match(la.reasons[0]!.message, /America\/Los_Angeles, the recipient's zone/);
    const tz = await call('GET', `/v1/people/${people[NEW_YORK]}/timezone`, key);
    const expected = { personId: people[NEW_YORK], timezone: 'America/New_York', source: 'number', chosenAt: null };
    assert.deepEqual(tz.json(), expected);
  });

  it("the person's chosen zone wins over their number, and null gives it back", async () => {
    const { key, people } = await business(night);
    const id = people[NEW_YORK]!;
    ctx.clock.set(Date.UTC(2026, 5, 2, 4, 0));
    const put = await call('PUT', `/v1/people/${id}/timezone`, key, { timezone: 'Asia/Tokyo' });
    assert.equal(put.statusCode, 200, put.body);
    const chosenAt = Date.UTC(2026, 5, 2, 4, 0);
    assert.deepEqual(put.json(), { personId: id, timezone: 'Asia/Tokyo', source: 'person', chosenAt });
    assert.equal((await decideAt(key, NEW_YORK, Date.UTC(2026, 5, 2, 5, 0))).outcome, 'allow', '14:00 in Tokyo');
    const evening = await decideAt(key, NEW_YORK, Date.UTC(2026, 5, 2, 13, 0)); // 22:00 in Tokyo, 09:00 in New York
    assert.equal(evening.reasons[0]!.timezone, 'Asia/Tokyo');
    assert.equal(evening.notBefore, Date.UTC(2026, 5, 2, 23, 0));
    const back = await call('PUT', `/v1/people/${id}/timezone`, key, { timezone: null });
    assert.deepEqual(back.json(), { personId: id, timezone: 'America/New_York', source: 'number', chosenAt: null });
    assert.equal((await decideAt(key, NEW_YORK, Date.UTC(2026, 5, 2, 13, 0))).outcome, 'allow', '09:00 in New York');
  });

  it("a public holiday of the recipient's country is quiet all day", async () => {
    const { key } = await business({ ...night, holidays: { recipientCountry: true } });
    const d = await decideAt(key, NEW_YORK, Date.UTC(2026, 6, 3, 16, 0)); // noon, Independence Day observed
    assert.equal(d.outcome, 'defer');
    assert.equal(d.notBefore, Date.UTC(2026, 6, 5, 12, 0));
    const holiday = { country: 'US', date: '2026-07-03', name: 'Independence Day (substitute day)' };
    assert.deepEqual(d.reasons[0]!.holiday, holiday);
  });

  it('bad zones and holiday calendars are 400 naming the field; an unknown person is 404', async () => {
    const { key, people } = await business(night);
    const bad = await call('PUT', `/v1/people/${people[NEW_YORK]}/timezone`, key, { timezone: 'Mars/Olympus' });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
    assert.match(JSON.stringify(bad.json()), /"timezone"/);
    const quietHours = { ...night, holidays: { countries: ['XX'] } };
    const cal = await call('PATCH', '/v1/business', key, { policy: { quietHours } });
    assert.equal(cal.statusCode, 400, cal.body);
    const fields = cal.json().errors.map((e: { field: string }) => e.field);
    assert.deepEqual(fields, ['policy.quietHours.holidays.countries[0]']);
    assert.equal((await call('PUT', '/v1/people/per_nobody/timezone', key, { timezone: 'UTC' })).statusCode, 404);
  });
});
