// The console with the keyboard only (Tab / Enter, focus always visible): sign in, go to People, search, open a
// person, then the audit log tab; and the opt-in widget on another site at 390 px, sized to its content with
// its submit button visible. Debian Chromium through playwright-core, SQLite; screenshots in test-results/.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createApiKey } from '../../../src/services/admin/manage-keys.js';
import type { Database } from '../../../src/storage/db.js';
import { openTestDb } from '../../helpers/db.js';
import { buildCaptureApp, type CaptureApp } from '../../helpers/capture.js';
import { launchChromium, PHONE_VIEWPORT, RESULTS_DIR } from '../../helpers/browser.js';
import { PHONE_A, WEB_EVIDENCE } from '../../helpers/http.js';

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
let platformKey: string;

before(async () => {
  mkdirSync(shots, { recursive: true });
  database = await openTestDb('sqlite');
  base = `http://127.0.0.1:${await freePort()}`;
  t = await buildCaptureApp(database, { publicUrl: base });
  await t.app.listen({ host: '127.0.0.1', port: Number(new URL(base).port) });
  platformKey = (await createApiKey(t.ctx, { businessId: null, name: 'platform' })).key;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await t?.close();
  await database?.close();
});

const call = (method: string, url: string, key: string, body?: unknown) =>
  t.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body !== undefined ? { payload: body as object } : {}),
  });

async function business(name: string) {
  const b = await call('POST', '/v1/businesses', platformKey, {
    slug: `kb-${Math.random().toString(36).slice(2, 8)}`,
    displayName: name,
  });
  const key = (await call('POST', `/v1/businesses/${b.json().id}/keys`, platformKey, { name: 'console' })).json()
    .key as string;
  await call('POST', '/v1/topics', key, { key: 'delivery', name: 'delivery updates', category: 'utility' });
  await call('POST', '/v1/topics', key, { key: 'billing', name: 'billing alerts', category: 'utility' });
  const both = await call('POST', '/v1/texts', key, {
    name: 'both',
    language: 'en',
    topicKeys: ['delivery', 'billing'],
    body: `Send me delivery updates and billing alerts from ${name} on WhatsApp. Reply STOP to opt out.`,
  });
  await call('POST', '/v1/texts', key, {
    name: 'delivery',
    language: 'en',
    topicKeys: ['delivery'],
    body: `Send me delivery updates from ${name} on WhatsApp. Reply STOP to opt out.`,
  });
  return { key, slug: b.json().slug as string, textHash: both.json().hash as string };
}

/** Presses Tab until `selector` has the focus (at most `max` presses); every focused element shows its focus. */
async function tabTo(page: Page, selector: string, max = 40): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    const state =
      (await page.evaluate(`(() => { const a = document.activeElement; return { hit: !!a && a.matches(${JSON.stringify(selector)}),
      outline: a ? getComputedStyle(a).outlineStyle : 'none', tag: a ? a.tagName + '#' + a.id : '' }; })()`)) as {
        hit: boolean;
        outline: string;
        tag: string;
      };
    if (state.tag !== 'BODY#') assert.equal(state.outline, 'solid', `focus visible on ${state.tag}`);
    if (state.hit) return i;
  }
  throw new Error(`${selector} not reached with ${max} Tab presses`);
}

it('keyboard only: sign in, People, search, open a person, the audit log', async () => {
  const b = await business('Keyboard Shop');
  const optIn = await call('POST', '/v1/opt-ins', b.key, {
    person: { phone: PHONE_A },
    topics: ['delivery'],
    channel: 'web',
    action: 'checked_box',
    textHash: b.textHash,
    evidence: WEB_EVIDENCE,
  });
  assert.equal(optIn.statusCode, 201, optIn.body);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
  await page.goto(`${base}/console`);

  await tabTo(page, '#api-key');
  await page.keyboard.type(b.key);
  await page.keyboard.press('Enter');
  await page.getByText('Signed in to Keyboard Shop').waitFor();

  await tabTo(page, '.tab[data-tab="person-section"]');
  await page.keyboard.press('Enter');
  await tabTo(page, '#phone');
  await page.keyboard.type('+44 7911 123456');
  await page.keyboard.press('Enter');
  await page.locator('#timeline li').first().waitFor();
  // One match opens at once; the result list keeps an "Open" button reachable with Tab for several.
  const opened = await page.locator('#person').isVisible();
  if (!opened || (await page.locator('#results button').count()) > 0) {
    await tabTo(page, '#results button');
    await page.keyboard.press('Enter');
  }
  await page.locator('#person').waitFor();
  assert.match(await page.locator('#person-title').innerText(), /./);
  assert.ok((await page.locator('#timeline li').count()) >= 1);
  await page.screenshot({ path: `${shots}console-keyboard-person.png`, fullPage: true });

  // Download a proof with the keyboard, then read the audit log the same way.
  await tabTo(page, '#download-proof');
  await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  await tabTo(page, '.tab[data-tab="audit-section"]', 80);
  await page.keyboard.press('Enter');
  await page.locator('#audit-table tbody tr').first().waitFor();
  const rows = await page.locator('#audit-table tbody tr').allInnerTexts();
  assert.ok(
    rows.some((r) => /proof\.download/.test(r) && r.includes(optIn.json().personId)),
    rows.join('\n'),
  );
  assert.ok(
    rows.some((r) => /text\.register/.test(r)),
    rows.join('\n'),
  );
  await page.setViewportSize(PHONE_VIEWPORT);
  const sideways = await page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth');
  assert.equal(sideways, false, 'no sideways scroll at 390 px');
  await page.screenshot({ path: `${shots}console-audit-390.png`, fullPage: true });
  await context.close();
});

it('the widget on another site at 390 px: the frame takes its content height and its submit button is visible', async () => {
  const b = await business('Widget Shop');
  const host: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head><body style="margin:0">
<h1>Our shop</h1><script src="${base}/p/${b.slug}/widget.js" data-topics="delivery"></script><p>Footer</p></body></html>`);
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  const hostUrl = `http://localhost:${(host.address() as { port: number }).port}/`;
  try {
    const context = await browser.newContext({
      viewport: PHONE_VIEWPORT,
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
    await page.goto(hostUrl);
    const iframe = page.locator('iframe');
    await iframe.waitFor();
    const frame = page.frameLocator('iframe');
    const submit = frame.getByRole('button', { name: 'Agree and continue' });
    await submit.waitFor();
    // The frame reports its height and the widget script resizes the iframe (no fixed 720 px).
    let height = 720;
    for (let i = 0; i < 50 && height === 720; i++) {
      height = Number(await page.evaluate("parseInt(document.querySelector('iframe').style.height, 10)"));
      if (height === 720) await page.waitForTimeout(100);
    }
    assert.notEqual(height, 720, 'the iframe was sized to its content');
    const widgetFrame = page.frames().find((x) => x.url().includes('/opt-in?'))!;
    const inner = Number(
      await widgetFrame.evaluate('Math.ceil(document.documentElement.getBoundingClientRect().height)'),
    );
    assert.ok(Math.abs(height - inner) <= 2, `iframe ${height}px, content ${inner}px`);
    const f = (await iframe.boundingBox())!;
    const s = (await submit.boundingBox())!;
    assert.ok(
      s.y >= f.y && s.y + s.height <= f.y + f.height,
      `submit (${s.y}+${s.height}) inside the frame (${f.y}+${f.height})`,
    );
    // The text shown is the one for the topic the widget offers, and only that topic is offered.
    assert.equal(await frame.locator('input[name="topics"]').count(), 1);
    assert.doesNotMatch(await frame.locator('#consent-text').innerText(), /billing/);
    await submit.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${shots}widget-390.png`, fullPage: true });
    await context.close();
  } finally {
    await new Promise<void>((r) => host.close(() => r()));
  }
});
