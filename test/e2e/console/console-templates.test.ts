// The console's overview shows paused templates (who paused them and why) and the number's quality rating, with a
// resume button for the opt-out guard's own pauses only (none for Meta's, none for a read-only key); the person
// timeline says in words that a consent expired. Real API on SQLite, Debian Chromium (playwright-core).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createApiKey } from '../../../src/services/admin/manage-keys.js';
import { expireConsents } from '../../../src/services/consent/expire-consents.js';
import { guardTemplates } from '../../../src/services/quality/guard-templates.js';
import { insertQualityEvent } from '../../../src/storage/quality/quality-events-store.js';
import { noteMetaTemplate, stopTemplate } from '../../../src/storage/quality/template-health-store.js';
import { openTestDb } from '../../helpers/db.js';
import { buildTestApp, PHONE_A, WEB_EVIDENCE, type TestApp } from '../../helpers/http.js';
import { launchChromium, PHONE_VIEWPORT, RESULTS_DIR } from '../../helpers/browser.js';
import type { Database } from '../../../src/storage/db.js';

const shots = fileURLToPath(RESULTS_DIR);
const phone = (i: number) => `+4479111234${String(i).padStart(2, '0')}`;
const DAY = 86_400_000;

let database: Database;
let t: TestApp;
let base: string;
let browser: Browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  database = await openTestDb('sqlite');
  t = await buildTestApp(database);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await t?.app.close();
  await database?.close();
});

async function signIn(key: string, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, timezoneId: 'Europe/London', locale: 'en-GB' });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
  const logged: string[] = [];
  page.on('console', (m) => {
    if (!m.text().startsWith('Failed to load resource')) logged.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => logged.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/console`);
  await page.getByLabel('Business API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { context, page, logged };
}
const qualityText = (page: Page) => page.locator('#quality').innerText();

it("overview: a template the guard paused, with its rate and a resume button; Meta's pause without one; the number's quality", async () => {
  const b = await t.newBusiness('Quality Shop');
  assert.equal(
    (
      await t.call('PATCH', '/v1/business', b.key, {
        policy: { templateGuard: { optOutRate: 0.02, minRecipients: 10, windowHours: 24 } },
      })
    ).statusCode,
    200,
  );
  for (let i = 0; i < 12; i++) {
    await t.call('POST', '/v1/opt-ins', b.key, {
      person: { phone: phone(i) },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.textHash,
      evidence: WEB_EVIDENCE,
    });
    const q = await t.call('POST', '/v1/messages', b.key, {
      person: { phone: phone(i) },
      topic: 'delivery',
      template: { name: 'spring_sale', language: 'en' },
    });
    assert.equal(q.json().outcome, 'queued', q.body);
  }
  await database.db
    .updateTable('messages')
    .set({ status: 'sent', sent_at: t.ctx.clock.now() })
    .where('business_id', '=', b.id)
    .where('kind', '=', 'notification')
    .execute();
  t.ctx.clock.advance(3_600_000);
  await t.call('POST', '/v1/opt-outs', b.key, {
    person: { phone: phone(0) },
    scope: 'all',
    channel: 'api',
    action: 'staff_request',
  });
  assert.equal((await guardTemplates(t.ctx, { businessId: b.id })).paused.length, 1);
  const now = t.ctx.clock.now();
  await database.db.transaction().execute(async (trx) => {
    await noteMetaTemplate(trx, b.id, 'winter_promo', { status: 'PAUSED' }, now);
    await stopTemplate(
      trx,
      { businessId: b.id, name: 'winter_promo', status: 'paused', by: 'meta', reason: 'meta_paused', detail: {} },
      now,
    );
    await insertQualityEvent(
      trx,
      {
        businessId: b.id,
        kind: 'number_quality',
        subject: '15550100999',
        event: 'FLAGGED',
        detail: { currentLimit: 'TIER_1K' },
        sourceRef: 'q1',
      },
      now,
    );
  });

  const { context, page, logged } = await signIn(b.key);
  await page.getByText("Template 'spring_sale' is paused by Optline's opt-out guard").waitFor();
  const text = await qualityText(page);
  assert.match(text, /1 opt-out\(s\) after 12 notification\(s\) within 24 h \(8\.3 %, above the 2\.0 % threshold\)/);
  assert.match(text, /Template 'winter_promo' is paused by Meta \(PAUSED\).*Optline cannot lift it/);
  assert.match(text, /Number 15550100999: quality FLAGGED, messaging limit TIER_1K/);
  assert.match(text, /2 template\(s\) paused/);
  assert.equal(await page.getByRole('button', { name: /^Resume/ }).count(), 1, "only the guard's pause has a button");
  await page.screenshot({ path: `${shots}console-overview-paused-template-1280.png`, fullPage: true });

  await page.getByRole('button', { name: "Resume 'spring_sale'" }).click();
  await page.getByText("Template 'spring_sale' resumed").waitFor();
  assert.doesNotMatch(await qualityText(page), /spring_sale' is paused/);
  assert.match(await qualityText(page), /winter_promo' is paused by Meta/);
  const q = await t.call('POST', '/v1/messages', b.key, {
    person: { phone: phone(3) },
    topic: 'delivery',
    template: { name: 'spring_sale', language: 'en' },
  });
  assert.equal(q.json().outcome, 'queued', 'sends allowed again');
  await context.close();

  // A read-only key sees the pause and the quality, and no resume button.
  await database.db.transaction().execute((trx) =>
    stopTemplate(
      trx,
      {
        businessId: b.id,
        name: 'spring_sale',
        status: 'paused',
        by: 'opt_out_guard',
        reason: 'opt_out_rate',
        detail: { optOutRate: 0.1, optOuts: 2, notifications: 20, windowHours: 24, threshold: 0.02 },
      },
      t.ctx.clock.now(),
    ),
  );
  const read = (
    await createApiKey(t.ctx, { businessId: b.id, name: 'compliance', role: 'read' } as Parameters<
      typeof createApiKey
    >[1])
  ).key;
  const ro = await signIn(read, PHONE_VIEWPORT);
  await ro.page.getByText(/role read/).waitFor();
  await ro.page.getByText("Template 'spring_sale' is paused by Optline's opt-out guard").waitFor();
  assert.equal(await ro.page.getByRole('button', { name: "Resume 'spring_sale'" }).isVisible(), false);
  await ro.page.screenshot({ path: `${shots}console-overview-paused-template-read-only-390.png`, fullPage: true });
  await ro.context.close();
  assert.deepEqual([...logged, ...ro.logged], [], 'nothing logged, no CSP violation, no script error');
});

it('the person timeline says in words that a double opt-in expired (not an opt-out)', async () => {
  const b = await t.newBusiness('Expiry Shop');
  assert.equal((await t.call('PATCH', '/v1/business', b.key, { policy: { doubleOptIn: true } })).statusCode, 200);
  const optIn = await t.call('POST', '/v1/opt-ins', b.key, {
    person: { phone: PHONE_A },
    topics: ['delivery'],
    channel: 'web',
    action: 'checked_box',
    textHash: b.textHash,
    evidence: WEB_EVIDENCE,
  });
  assert.equal(optIn.statusCode, 201, optIn.body);
  t.ctx.clock.advance(31 * DAY);
  assert.equal((await expireConsents(t.ctx, { businessId: b.id })).pendingExpired, 1);

  const { context, page, logged } = await signIn(b.key);
  await page.getByText('Signed in to Expiry Shop').waitFor();
  await page.getByRole('button', { name: 'People' }).click();
  await page.getByLabel(/^Number \(any format\)/).fill(optIn.json().personId);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#timeline li').nth(1).waitFor();
  assert.match(
    await page.locator('#timeline li').nth(1).innerText(),
    /Consent to 'delivery updates' expired: it was never confirmed on WhatsApp within 30 days \(not an opt-out; a new opt-in is needed\)/,
  );
  assert.match(
    await page.locator('#consent-words').innerText(),
    /Consent expired \(not an opt-out\) for delivery updates/,
  );
  await page.screenshot({ path: `${shots}console-person-expired-1280.png`, fullPage: true });
  await context.close();
  assert.deepEqual(logged, []);
});
