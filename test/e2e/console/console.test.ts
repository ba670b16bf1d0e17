// The compliance console (/console): static files with a strict CSP, then the page in a real browser (Debian
// Chromium through playwright-core) against the real API on SQLite.
import { it, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { buildApp } from '../../../src/http/app.js';
import { createApiKey } from '../../../src/services/admin/manage-keys.js';
import type { Database } from '../../../src/storage/db.js';
import { openTestDb } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { launchChromium, PHONE_VIEWPORT, RESULTS_DIR } from '../../helpers/browser.js';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { PHONE_A, WEB_EVIDENCE } from '../../helpers/http.js';

const shots = fileURLToPath(RESULTS_DIR);

let database: Database;
let app: FastifyInstance;
let adminKey: string;
let base: string;
let ctxRef: ReturnType<typeof testContext>;

async function call(method: string, url: string, key: string | null, body?: unknown) {
  return app.inject({
    method: method as 'GET',
    url,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  });
}

/** A business with two topics and an opt-in text, created over the API like an integrator would. */
async function newBusiness(name: string) {
  const b = await call('POST', '/v1/businesses', adminKey, {
    slug: `console-${Math.random().toString(36).slice(2, 8)}`,
    displayName: name,
  });
  assert.equal(b.statusCode, 201, b.body);
  const key = (await call('POST', `/v1/businesses/${b.json().id}/keys`, adminKey, { name: 'console' })).json()
    .key as string;
  for (const t of [
    { key: 'delivery', name: 'delivery updates' },
    { key: 'billing', name: 'billing alerts' },
  ]) {
    assert.equal((await call('POST', '/v1/topics', key, { ...t, category: 'utility' })).statusCode, 201);
  }
  const text = await call('POST', '/v1/texts', key, {
    name: 'default',
    language: 'en',
    topicKeys: ['delivery', 'billing'],
    body: `Send me delivery updates and billing alerts from ${name} on WhatsApp. Reply STOP to opt out.`,
  });
  return { key, textHash: text.json().hash as string };
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  database = await openTestDb('sqlite');
  const ctx = testContext(database);
  ctxRef = ctx;
  app = await buildApp({
    ctx,
    config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: 'http://localhost:8080' },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  adminKey = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
});
after(async () => {
  await app?.close();
  await database?.close();
});

describe('console files', () => {
  it('serves the page and its assets with their content types and a strict CSP, without a key', async () => {
    const expected: [string, RegExp][] = [
      ['/console', /^text\/html; charset=utf-8$/],
      ['/console/assets/console.css', /^text\/css; charset=utf-8$/],
      ['/console/assets/console.js', /^application\/javascript; charset=utf-8$/],
      ['/console/assets/chart.js', /^application\/javascript; charset=utf-8$/],
    ];
    for (const [url, type] of expected) {
      const r = await call('GET', url, null);
      assert.equal(r.statusCode, 200, url);
      assert.match(String(r.headers['content-type']), type, url);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/, url);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['cache-control'], 'no-store');
    }
    const html = (await call('GET', '/console', null)).body;
    assert.match(html, /<html lang="en">/);
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=|<style|\son[a-z]+=/i, 'no inline style or handlers');
    assert.doesNotMatch(html, /https?:\/\//, 'no CDN or other origin');
    const js = (await call('GET', '/console/assets/console.js', null)).body;
    assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|console\.[a-z]+\(|eval\(/);
    assert.equal((await call('GET', '/console/assets/nope.js', null)).statusCode, 404);
  });
});

describe('console in Chromium (SQLite)', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('signs in with the key, shows consent and history with evidence, verifies the ledger, signs out', async () => {
    const b = await newBusiness('Console Shop');
    const optIn = await call('POST', '/v1/opt-ins', b.key, {
      person: { phone: PHONE_A },
      topics: ['delivery', 'billing'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.textHash,
      evidence: WEB_EVIDENCE,
    });
    assert.equal(optIn.statusCode, 201, optIn.body);
    const out = await call('POST', '/v1/opt-outs', b.key, {
      person: { phone: PHONE_A },
      scope: 'topics',
      topics: ['billing'],
      channel: 'api',
      action: 'staff_request',
      evidence: { ticket: 'T-42' },
    });
    assert.equal(out.statusCode, 201, out.body);

    const context = await browser.newContext({
      viewport: { width: 1280, height: 1000 },
      deviceScaleFactor: 1,
      acceptDownloads: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
    const logged: string[] = [];
    // Chromium itself reports failed requests (the wrong key's 401, the favicon's 404) on the console: not ours.
    page.on('console', (m) => {
      if (!m.text().startsWith('Failed to load resource')) logged.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => logged.push(`pageerror: ${e.message}`));
    await page.goto(`${base}/console`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');

    // A wrong key: the API's problem shows in the alert, code and detail.
    await page.getByLabel('Business API key').fill('olk_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /UNAUTHENTICATED/);
    assert.match(await alert.innerText(), /unknown or revoked/);

    await page.getByLabel('Business API key').fill(b.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in to Console Shop').waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 1);
    assert.equal(
      await alert.isHidden(),
      true,
      'a successful sign-in clears the alert: ' + ((await alert.isHidden()) ? '' : await alert.innerText()),
    );

    await page.getByRole('button', { name: 'People' }).click();
    await page.getByLabel(/^Number \(any format\)/).fill(PHONE_A);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('#timeline li').first().waitFor();
    await page.getByText('Raw records').click();
    const consent = page.locator('#consent-table tbody tr');
    await consent.first().waitFor();
    const consentRows = await consent.allInnerTexts();
    assert.equal(consentRows.length, 2);
    assert.match(
      consentRows.find((r) => r.startsWith('billing'))!,
      /opted_out/,
    );
    assert.match(
      consentRows.find((r) => r.startsWith('delivery'))!,
      /opted_in/,
    );

    const history = await page.locator('#history-table tbody tr').allInnerTexts();
    assert.ok(history.length >= 2, history.join('\n'));
    const inRow = history.find((r) => /checked_box/.test(r))!;
    const outRow = history.find((r) => /staff_request/.test(r))!;
    assert.ok(history.indexOf(inRow) < history.indexOf(outRow), 'oldest first');
    assert.match(inRow, /203\.0\.113\.9/, 'evidence shown');
    assert.match(inRow, new RegExp(b.textHash), 'text hash shown');
    assert.match(outRow, /T-42/);

    // Latest events and the chain check.
    await page.getByRole('button', { name: 'Ledger' }).click();
    assert.ok((await page.locator('#events-table tbody tr').count()) >= 2);
    await page.getByRole('button', { name: 'Verify ledger' }).click();
    await page.locator('#verify-result .ok').waitFor();
    assert.equal(await page.locator('#verify-result .ok').innerText(), 'ok');

    // Proof download: a JSON file.
    await page.getByRole('button', { name: 'People' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download proof' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^consent-proof-.+\.json$/);

    // Keyboard focus is visible.
    await page.getByLabel(/^Number \(any format\)/).focus();
    await page.keyboard.press('Tab');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.equal(outline, 'solid');

    await page.screenshot({ path: `${shots}console.png`, fullPage: true });

    // Erase asks first: cancel keeps the person, confirm erases.
    await page.getByRole('button', { name: 'Erase…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Erase this person?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await dialog.isHidden(), true);
    assert.equal((await call('GET', '/v1/people/' + optIn.json().personId, b.key)).json().person.erasedAt, null);
    await page.getByRole('button', { name: 'Erase…' }).click();
    await dialog.getByLabel('Reason (optional)').fill('support ticket T-43');
    await dialog.getByRole('button', { name: 'Erase', exact: true }).click();
    await page.getByText(/^Erased per_/).waitFor();
    assert.notEqual((await call('GET', '/v1/people/' + optIn.json().personId, b.key)).json().person.erasedAt, null);
    // The page re-renders the person after the erasure; wait for it rather than reading mid-render.
    const eraseDisabled = async () => {
      for (let i = 0; i < 50; i++) {
        if (await page.getByRole('button', { name: 'Erase…' }).isDisabled()) return true;
        await page.waitForTimeout(100);
      }
      return false;
    };
    assert.equal(await eraseDisabled(), true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Business API key').waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    assert.equal(await page.locator('#history-table tbody tr').count(), 0);
    assert.deepEqual(logged, [], 'nothing logged, no CSP violation, no script error');
    await context.close();
  });
  it('pages the ledger with "Load older events"; a message whose delivery is unknown is retried or dropped from the console', async () => {
    const b = await newBusiness('Paging Shop');
    for (let i = 0; i < 55; i++) {
      const r = await call('POST', '/v1/opt-ins', b.key, {
        person: { phone: `+4479${12000000 + i}` },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.textHash,
        evidence: WEB_EVIDENCE,
      });
      assert.equal(r.statusCode, 201, r.body);
    }
    // Two confirmations were in flight when a worker died: their outcome is unknown.
    const businessId = (await call('GET', '/v1/business', b.key)).json().id as string;
    const stuck = await database.db
      .selectFrom('messages')
      .select('id')
      .where('business_id', '=', businessId)
      .where('kind', '=', 'confirmation')
      .orderBy('id')
      .limit(2)
      .execute();
    await database.db
      .updateTable('messages')
      .set({ status: 'unknown', error_code: 'IN_FLIGHT_AT_CRASH' })
      .where(
        'id',
        'in',
        stuck.map((m) => m.id),
      )
      .execute();

    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/console`);
    await page.getByLabel('Business API key').fill(b.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in to Paging Shop').waitFor();

    await page.getByRole('button', { name: 'Ledger' }).click();
    const events = page.locator('#events-table tbody tr');
    await events.nth(49).waitFor();
    assert.equal(await events.count(), 50);
    const more = page.getByRole('button', { name: 'Load older events' });
    await more.click();
    await events.nth(54).waitFor();
    assert.equal(await events.count(), 55);
    await more.waitFor({ state: 'hidden' });

    await page.getByRole('button', { name: 'Review' }).click();
    const rows = page.locator('#messages-table tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    await rows.filter({ hasText: stuck[0]!.id }).getByRole('button', { name: 'Drop' }).click();
    await page
      .locator('#messages-status')
      .getByText(/dropped/)
      .waitFor();
    assert.equal(
      (
        await database.db
          .selectFrom('messages')
          .select(['status', 'error_code'])
          .where('id', '=', stuck[0]!.id)
          .executeTakeFirstOrThrow()
      ).error_code,
      'DROPPED',
    );
    await page.locator('#messages-table tbody tr').filter({ hasText: stuck[0]!.id }).waitFor({ state: 'detached' });
    await rows.filter({ hasText: stuck[1]!.id }).getByRole('button', { name: 'Retry' }).click();
    await page.locator('#messages-status').getByText(stuck[1]!.id).waitFor();
    assert.equal(
      (
        await database.db
          .selectFrom('messages')
          .select('status')
          .where('id', '=', stuck[1]!.id)
          .executeTakeFirstOrThrow()
      ).status,
      'queued',
    );
    await page.getByText('No messages need a decision.').waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('tasks: overview chart, search by national number, a readable person page, preference link, printable proof, filtered CSV; no sideways scroll at 390 px; a read-only key sees no erase', async () => {
    // The overview shows the browser's last 30 days: the app's clock is put at the browser's day.
    ctxRef.clock.set(Date.now() - 3_600_000);
    const b = await newBusiness('Tasks Shop');
    assert.equal((await call('PUT', '/v1/capture-settings', b.key, { defaultCountry: 'GB' })).statusCode, 200);
    const chromeAndroid =
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36';
    const optIn = await call('POST', '/v1/opt-ins', b.key, {
      person: { phone: PHONE_A },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.textHash,
      evidence: { ip: '203.0.113.7', userAgent: chromeAndroid, pageUrl: 'https://shop.example/whatsapp' },
    });
    assert.equal(optIn.statusCode, 201, optIn.body);
    const personId = optIn.json().personId as string;
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (
          await call('POST', '/v1/opt-ins', b.key, {
            person: { phone: `+4479111230${10 + i}` },
            topics: ['billing'],
            channel: 'web',
            action: 'checked_box',
            textHash: b.textHash,
            evidence: WEB_EVIDENCE,
          })
        ).statusCode,
        201,
      );
    }
    assert.equal(
      (
        await call('POST', '/v1/opt-outs', b.key, {
          person: { phone: '+447911123010' },
          scope: 'all',
          channel: 'api',
          action: 'staff_request',
          evidence: { ticket: 'T-9' },
        })
      ).statusCode,
      201,
    );

    const noSideways = async (page: Page, what: string) => {
      const w = (await page.evaluate(
        '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
      )) as [number, number];
      assert.ok(w[0] <= w[1], `${what}: page is ${w[0]} px wide in a ${w[1]} px viewport`);
    };
    const logged: string[] = [];
    let prefPath = '';
    for (const [label, viewport] of [
      ['390', PHONE_VIEWPORT],
      ['1280', { width: 1280, height: 800 }],
    ] as const) {
      const context = await browser.newContext({
        viewport,
        acceptDownloads: true,
        timezoneId: 'Europe/Madrid',
        locale: 'en-GB',
      });
      const page = await context.newPage();
      page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
      page.on('console', (m) => {
        if (!m.text().startsWith('Failed to load resource')) logged.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => logged.push(`pageerror: ${e.message}`));
      await page.goto(`${base}/console`);
      await page.getByLabel('Business API key').fill(b.key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Signed in to Tasks Shop').waitFor();

      // Overview: the chart is drawn by Chart.js (served by Optline), totals per topic in words.
      await page.locator('#totals-table tbody tr').first().waitFor();
      assert.equal(
        await page.evaluate("!!(window.Chart && window.Chart.getChart(document.getElementById('chart-events')))"),
        true,
        'chart drawn',
      );
      const totals = await page.locator('#totals-table tbody tr').allInnerTexts();
      assert.ok(
        totals.some((r) => /delivery updates/.test(r)),
        totals.join('|'),
      );
      await page.getByText(/4 opt-in\(s\), 1 opt-out\(s\)/).waitFor();
      await noSideways(page, `overview ${label}`);
      await page.screenshot({ path: `${shots}console-overview-${label}.png`, fullPage: true });

      // People: a national number with the business's default country (GB).
      await page.getByRole('button', { name: 'People' }).click();
      await page.getByLabel(/^Number \(any format\)/).fill('07911 123456');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const timeline = page.locator('#timeline li');
      await timeline.first().waitFor();
      const first = await timeline.first().innerText();
      assert.match(
        first,
        /Opted in on the web page, ticked 'delivery updates', from 203\.0\.113\.7, Chrome on Android/,
      );
      assert.match(await page.locator('#consent-words').innerText(), /Agreed to receive delivery updates/);
      assert.match(
        await page.locator('#texts').innerText(),
        /Send me delivery updates and billing alerts from Tasks Shop on WhatsApp\. Reply STOP to opt out\./,
        'the full text',
      );
      assert.match(await page.locator('#person-messages').innerText(), /Confirmation.*Allowed by the send gate/);
      // Preference link: minted, shown, and it opens the page.
      await page.getByRole('button', { name: 'Preference link' }).click();
      await page.locator('#pref-box').waitFor();
      const url = await page.locator('#pref-url').inputValue();
      assert.match(url, /\/p\/prefs\//);
      prefPath = new URL(url).pathname;
      await noSideways(page, `person ${label}`);
      await page.screenshot({ path: `${shots}console-person-${label}.png`, fullPage: true });
      // Printable proof: the print stylesheet keeps only the person.
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.locator('.tabs').isVisible(), false);
      assert.equal(await page.locator('#timeline').isVisible(), true);
      await page.screenshot({ path: `${shots}console-print-${label}.png`, fullPage: true });
      await page.emulateMedia({ media: 'screen' });

      // Ledger: filter opt-outs, download them as CSV.
      await page.getByRole('button', { name: 'Ledger' }).click();
      await page.getByLabel('Type').selectOption('opt_out');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      // Wait for the filtered answer, not for the unfiltered table that already holds an opt-out among others.
      await page.locator('#events-table:not([aria-busy])').waitFor();
      await page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll('#events-table tbody tr'));
        return rows.length > 0 && rows.every((r) => r.textContent!.includes('opt_out'));
      });
      assert.equal(await page.locator('#events-table tbody tr').count(), 1);
      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download CSV' }).click(),
      ]);
      const lines = readFileSync(await csv.path())
        .toString('utf8')
        .trim()
        .split('\r\n');
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /^occurred_at,recorded_at,type,/);
      assert.match(lines[1]!, /,opt_out,all,/);
      await noSideways(page, `ledger ${label}`);
      await page.screenshot({ path: `${shots}console-ledger-${label}.png`, fullPage: true });
      await page.getByRole('button', { name: 'Review' }).click();
      await noSideways(page, `review ${label}`);
      await page.screenshot({ path: `${shots}console-review-${label}.png`, fullPage: true });
      await context.close();
    }
    assert.equal(
      await call('GET', prefPath, null).then((r) => r.statusCode),
      200,
      'the minted link opens the preference page',
    );

    // A read-only key: looks and exports, is shown no erase.
    const read = await createApiKey(ctxRef, {
      businessId: (await call('GET', '/v1/business', b.key)).json().id,
      name: 'compliance',
      role: 'read',
    } as Parameters<typeof createApiKey>[1]);
    const context = await browser.newContext({ viewport: PHONE_VIEWPORT });
    const page = await context.newPage();
    page.setDefaultTimeout(120_000); // a loaded machine is slow, not wrong
    await page.goto(`${base}/console`);
    await page.getByLabel('Business API key').fill(read.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/role read/).waitFor();
    await page.getByRole('button', { name: 'People' }).click();
    await page.getByLabel(/^Number \(any format\)/).fill(personId);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('#timeline li').first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Erase…' }).isVisible(), false);
    assert.equal(await page.getByRole('button', { name: /Download proof/ }).isVisible(), true);
    await page.screenshot({ path: `${shots}console-read-only-390.png`, fullPage: true });
    await context.close();
    assert.deepEqual(logged, [], 'nothing logged, no CSP violation, no script error');
  });
});
