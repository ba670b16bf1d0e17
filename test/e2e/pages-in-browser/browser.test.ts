// The hosted opt-in page and the preference page in a real browser (Debian Chromium through playwright-core),
// on a phone-sized screen, with JavaScript off: the pages must work without it.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openTestDb } from '../../helpers/db.js';
import { buildCaptureApp, seedCaptureBusiness, type CaptureApp } from '../../helpers/capture.js';
import { launchChromium, PHONE_VIEWPORT, RESULTS_DIR } from '../../helpers/browser.js';
import { registerText } from '../../../src/services/admin/manage-texts.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { preferenceLink } from '../../../src/services/consent/preference-links.js';
import type { Database } from '../../../src/storage/db.js';
import { webEvidence } from '../../helpers/seed.js';

const shots = fileURLToPath(RESULTS_DIR);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

let database: Database;
let t: CaptureApp;
let browser: Browser;
let base: string;

before(async () => {
  mkdirSync(shots, { recursive: true });
  database = await openTestDb('sqlite');
  base = `http://127.0.0.1:${await freePort()}`;
  t = await buildCaptureApp(database, { publicUrl: base });
  await t.app.listen({ host: '127.0.0.1', port: Number(new URL(base).port) });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await t?.close();
  await database?.close();
});

async function phonePage(lang: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: PHONE_VIEWPORT,
    deviceScaleFactor: 1,
    javaScriptEnabled: false,
    locale: lang,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
  return { context, page };
}

const events = (businessId: string) =>
  database.db.selectFrom('consent_events').selectAll().where('business_id', '=', businessId).execute();
const evidenceOf = async (eventId: string) =>
  JSON.parse(
    (
      await database.db
        .selectFrom('consent_evidence')
        .select('evidence')
        .where('event_id', '=', eventId)
        .executeTakeFirstOrThrow()
    ).evidence,
  );

// Plain source text, evaluated in the page: a function literal here would be rewritten by the TypeScript loader.
const CONTRAST = `(selector) => {
  const el = document.querySelector(selector);
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let bg = [255, 255, 255];
  for (let n = el; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) { bg = c; break; }
  }
  const a = lum(rgb(getComputedStyle(el).color));
  const b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}`;

/** WCAG contrast of an element's text against the first opaque background behind it. */
async function contrast(page: Page, selector: string): Promise<number> {
  return page.evaluate(`(${CONTRAST})(${JSON.stringify(selector)})`) as Promise<number>;
}

it('hosted page in en, es and pt on a phone: lang attribute, boxes unchecked, labels, contrast; screenshots', async () => {
  const { business } = await seedCaptureBusiness(t.ctx, { name: 'Casa Verde' });
  await registerText(t.ctx, business.id, {
    name: 'default',
    language: 'es',
    topicKeys: ['delivery', 'billing'],
    body: 'Sí, quiero recibir delivery updates y billing alerts de Casa Verde por WhatsApp. Responde STOP para darte de baja.',
  });
  await registerText(t.ctx, business.id, {
    name: 'default',
    language: 'pt',
    topicKeys: ['delivery', 'billing'],
    body: 'Sim, quero receber delivery updates e billing alerts de Casa Verde pelo WhatsApp. Responda STOP para sair.',
  });
  for (const lang of ['en', 'es', 'pt']) {
    const { context, page } = await phonePage(lang);
    await page.goto(`${base}/p/${business.slug}/opt-in?topics=delivery,billing&lang=${lang}`);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal(await page.getByLabel('delivery updates').isChecked(), false);
    assert.equal(await page.getByLabel('billing alerts').isChecked(), false);
    assert.ok(await page.locator('#phone').isVisible());
    for (const sel of [
      'h1',
      '.lead',
      '.hint',
      'label[for="phone"]',
      'button.primary',
      '.consent blockquote',
      '.small',
    ]) {
      const ratio = await contrast(page, sel);
      assert.ok(ratio >= 4.5, `${lang} ${sel}: contrast ${ratio.toFixed(2)} < 4.5`);
    }
    const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(width <= PHONE_VIEWPORT.width, `no sideways scrolling on a phone (${width}px)`);
    await page.screenshot({ path: `${shots}opt-in-${lang}.png`, fullPage: true });
    await context.close();
  }
});

it('keyboard: a logical focus order, and focus is visible', async () => {
  const { business } = await seedCaptureBusiness(t.ctx);
  const { context, page } = await phonePage('en');
  await page.goto(`${base}/p/${business.slug}/opt-in?topics=delivery,billing&lang=en`);
  const order: string[] = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    order.push(
      (await page.evaluate(
        "(() => { const a = document.activeElement; return (a && (a.id || a.getAttribute('hreflang') || a.tagName.toLowerCase())) || ''; })()",
      )) as string,
    );
  }
  assert.deepEqual(order, ['es', 'pt', 'topic-billing', 'topic-delivery', 'country', 'phone', 'button', 'body']);
  await page.focus('#topic-delivery');
  const outline = (await page.evaluate(
    "(() => { const s = getComputedStyle(document.querySelector('#topic-delivery')); return s.outlineStyle + ' ' + s.outlineWidth; })()",
  )) as string;
  assert.match(outline, /^solid 3px$/);
  await context.close();
});

it('no box checked: nothing recorded, the page says why and links the summary to the fields', async () => {
  const { business } = await seedCaptureBusiness(t.ctx, { ownershipCheck: false });
  const { context, page } = await phonePage('en');
  await page.goto(`${base}/p/${business.slug}/opt-in?lang=en`);
  await page.getByLabel('Your WhatsApp number').fill('+1 415 555 2671');
  await page.getByRole('button', { name: 'Agree and continue' }).click();
  await page.waitForSelector('.error-summary');
  const summary = page.getByRole('alert');
  assert.match((await summary.textContent()) ?? '', /Tick at least one type of message\. Nothing was recorded\./);
  assert.equal(
    await page.evaluate('document.activeElement && document.activeElement.className'),
    'error-summary',
    'the summary takes focus',
  );
  await page.screenshot({ path: `${shots}opt-in-error-en.png`, fullPage: true });
  await summary.getByRole('link').first().click();
  assert.equal(
    await page.evaluate('document.activeElement && document.activeElement.id'),
    'topic-billing',
    'the summary link leads to the boxes',
  );
  assert.equal((await events(business.id)).length, 0);
  await context.close();
});

it('checking a box records the opt-in with the text shown, the boxes, IP, user agent, page URL and time', async () => {
  const { business, text } = await seedCaptureBusiness(t.ctx, { ownershipCheck: false });
  const { context, page } = await phonePage('es');
  await page.goto(`${base}/p/${business.slug}/opt-in?topics=delivery,billing&lang=es`);
  await page.getByLabel('delivery updates').check();
  await page.getByLabel('País').selectOption('MX');
  await page.getByLabel('Tu número de WhatsApp').fill('55 1234 5678');
  await page.getByRole('button', { name: 'Aceptar y continuar' }).click();
  await page.getByRole('heading', { name: 'Te has suscrito' }).waitFor();
  await page.screenshot({ path: `${shots}opt-in-done-es.png`, fullPage: true });
  const [e] = await events(business.id);
  assert.ok(e);
  assert.deepEqual([e.channel, e.action, e.topic_keys, e.text_hash], ['web', 'checked_box', '["delivery"]', text.hash]);
  const ev = await evidenceOf(e.id);
  assert.equal(ev.ip, '127.0.0.1');
  assert.match(ev.userAgent, /Chrome/);
  assert.equal(ev.pageUrl, `${base}/p/${business.slug}/opt-in?topics=delivery%2Cbilling&lang=es`);
  assert.deepEqual(ev.topicsChecked, ['delivery']);
  assert.equal(ev.phoneTyped, '55 1234 5678');
  assert.equal(ev.countrySelected, 'MX');
  assert.equal(typeof ev.submittedAt, 'number');
  await context.close();
});

it('with the ownership check, the page offers the WhatsApp click-to-chat step', async () => {
  const { business } = await seedCaptureBusiness(t.ctx);
  const { context, page } = await phonePage('pt');
  await page.goto(`${base}/p/${business.slug}/opt-in?lang=pt`);
  await page.getByLabel('delivery updates').check();
  await page.getByLabel('País').selectOption('BR');
  await page.getByLabel('Seu número de WhatsApp').fill('11 98765 4321');
  await page.getByRole('button', { name: 'Aceitar e continuar' }).click();
  const link = page.getByRole('link', { name: 'Abrir o WhatsApp e enviar a mensagem' });
  assert.match((await link.getAttribute('href')) ?? '', /^https:\/\/wa\.me\/15550100999\?text=Sim%2C/);
  await page.screenshot({ path: `${shots}ownership-pt.png`, fullPage: true });
  assert.equal((await events(business.id)).length, 0);
  await context.close();
});

it('preference page in en, es and pt; saving with no box checked records nothing; checking one records it', async () => {
  const { business, text } = await seedCaptureBusiness(t.ctx, { name: 'Luz Norte' });
  // Known from an earlier opt-in that the person then withdrew: every box starts unchecked.
  const r = await recordOptIn(t.ctx, business.id, {
    person: { phone: '+14155559001' },
    topics: ['billing'],
    channel: 'web',
    action: 'checked_box',
    textHash: text.hash,
    evidence: webEvidence,
    actor: 't',
  });
  await database.db
    .updateTable('consent_state')
    .set({ status: 'opted_out' })
    .where('person_id', '=', r.personId)
    .execute();
  const link = preferenceLink(t.ctx, business.id, r.personId, { publicUrl: base });
  for (const lang of ['en', 'es', 'pt']) {
    const { context, page } = await phonePage(lang);
    await page.goto(`${link.url}?lang=${lang}`);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await page.screenshot({ path: `${shots}preferences-${lang}.png`, fullPage: true });
    await context.close();
  }
  const before = (await events(business.id)).length;
  const { context, page } = await phonePage('en');
  await page.goto(link.url);
  await page.getByRole('button', { name: 'Save my choices' }).click();
  await page.getByText('Nothing changed.').waitFor();
  assert.equal((await events(business.id)).length, before, 'no box checked, nothing recorded');
  await page.getByLabel('delivery updates').check();
  await page.getByRole('button', { name: 'Save my choices' }).click();
  await page.getByText('Your choices are saved.').waitFor();
  await page.screenshot({ path: `${shots}preferences-saved-en.png`, fullPage: true });
  const added = (await events(business.id)).slice(before);
  assert.deepEqual(
    added.map((e) => [e.type, e.topic_keys, e.action]),
    [['opt_in', '["delivery"]', 'checked_box']],
  );
  const ev = await evidenceOf(added[0]!.id);
  assert.equal(ev.ip, '127.0.0.1');
  assert.match(ev.userAgent, /Chrome/);
  assert.equal(ev.tokenId, link.tokenId);
  assert.equal(added[0]!.text_hash, text.hash);
  await context.close();
});
