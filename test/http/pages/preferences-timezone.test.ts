// The preference page lets the person choose their own time zone for quiet hours (it wins over their number's)
// and give the choice back to the number. Both dialects, clock injected.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import {
  buildCaptureApp,
  form,
  formState,
  PUBLIC_URL,
  seedCaptureBusiness,
  type CaptureApp,
} from '../../helpers/capture.js';
import { webEvidence } from '../../helpers/seed.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { preferenceLink } from '../../../src/services/consent/preference-links.js';
import { updateBusiness } from '../../../src/services/admin/manage-businesses.js';

const PHONE = '+14155554002'; // San Francisco: America/Los_Angeles

forEachDialect('preference page: time zone', (db) => {
  let t: CaptureApp;
  before(async () => {
    t = await buildCaptureApp(db());
  });
  after(async () => {
    await t.close();
  });

  type Page = Awaited<ReturnType<typeof t.app.inject>>;
  const save = (path: string, page: Page, fields: Record<string, string | string[]>) => {
    const st = formState(page);
    return t.app.inject({
      method: 'POST',
      url: `${path}?lang=en`,
      remoteAddress: '198.51.100.21',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL, cookie: st.cookie },
      payload: form({ formToken: st.formToken, ...fields }),
    });
  };
  const zoneAt = async (businessId: string, at: number) => {
    t.ctx.clock.set(at);
    const d = await decideSend(t.ctx, businessId, { person: { phone: PHONE }, topic: 'delivery' });
    return { outcome: d.outcome, timezone: d.reasons.find((r) => r.code === 'QUIET_HOURS')?.timezone ?? null };
  };

  it('offers every zone, "automatic" selected; a chosen zone decides quiet hours; auto gives it back', async () => {
    const seed = await seedCaptureBusiness(t.ctx);
    const quietHours = { start: '21:00', end: '08:00', defaultTimezone: 'Europe/London' };
    await updateBusiness(t.ctx, seed.business.id, { policy: { quietHours } });
    const r = await recordOptIn(t.ctx, seed.business.id, {
      person: { phone: PHONE },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: seed.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    const link = preferenceLink(t.ctx, seed.business.id, r.personId, { publicUrl: PUBLIC_URL });

    const night = Date.UTC(2026, 5, 2, 5, 0); // 22:00 in Los Angeles, 00:00 in Chicago
    t.ctx.clock.set(night);
    const page = await t.app.inject({ method: 'GET', url: link.path });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<option value="auto" selected>Automatic, from your number \(America\/Los_Angeles\)</);
    assert.match(page.body, /<option value="America\/Chicago">America\/Chicago<\/option>/);
    assert.deepEqual(await zoneAt(seed.business.id, night), { outcome: 'defer', timezone: 'America/Los_Angeles' });

    const chose = await save(link.path, page, { topics: 'delivery', action: 'save', timezone: 'Asia/Tokyo' });
    assert.equal(chose.statusCode, 303);
    assert.match(String(chose.headers.location), /done=saved/, 'a zone change alone is a saved change');
    assert.deepEqual(await zoneAt(seed.business.id, night), { outcome: 'allow', timezone: null }, '14:00 in Tokyo');
    const again = await t.app.inject({ method: 'GET', url: link.path });
    assert.match(again.body, /<option value="Asia\/Tokyo" selected>/);

    // A forged value changes nothing; "auto" gives the zone back to the number.
    const forged = await save(link.path, again, { topics: 'delivery', action: 'save', timezone: 'Mars/Olympus' });
    assert.match(String(forged.headers.location), /done=unchanged/);
    await save(link.path, again, { topics: 'delivery', action: 'save', timezone: 'auto' });
    assert.deepEqual(await zoneAt(seed.business.id, night), { outcome: 'defer', timezone: 'America/Los_Angeles' });
  });
});
