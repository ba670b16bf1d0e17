// The console's Import tab: a CSV chosen in the page goes to POST /v1/imports through XMLHttpRequest (its upload
// progress drives a <progress> bar), the job is followed to the end (rows read) and its result said in words, and
// the refused rows download as CSV. Keyboard only at 390 px without sideways scroll; no tab for a read-only key.
// Real API on SQLite with the serving process's import runner, Debian Chromium (playwright-core).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startImportJobRunner, type ImportJobRunner } from '../../../src/worker/import/job-runner.js';
import { openTestDb } from '../../helpers/db.js';
import { buildTestApp, type TestApp } from '../../helpers/http.js';
import { launchChromium, PHONE_VIEWPORT, RESULTS_DIR } from '../../helpers/browser.js';
import type { Database } from '../../../src/storage/db.js';

const shots = fileURLToPath(RESULTS_DIR);
const row = (phone: string, topic = 'delivery') => `${phone},${topic},checked_box,2026-05-01T09:00:00Z,web`;
const CSV = Buffer.from(
  ['phone,topics,action,occurred_at,channel', row('+447911123401'), row('+447911123402', 'billing')]
    .concat([row('not a number'), row('+447911123403')])
    .join('\n') + '\n',
);

let database: Database;
let t: TestApp;
let runner: ImportJobRunner;
let base: string;
let browser: Browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  database = await openTestDb('sqlite');
  t = await buildTestApp(database);
  // The serving process's runner (main.ts wakes it on each upload; here it looks every 100 ms).
  runner = startImportJobRunner(t.ctx, { pollMs: 100 });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await runner?.stop();
  await t?.app.close();
  await database?.close();
});

async function signIn(key: string, viewport: { width: number; height: number }) {
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
  await page.getByText(/Signed in to/).waitFor();
  return { context, page, logged };
}
const bar = (page: Page, id: string) =>
  page.evaluate((i) => {
    const p = document.getElementById(i) as HTMLProgressElement;
    return { value: p.value, max: p.max, determinate: p.hasAttribute('value') };
  }, id);
const sideways = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

it('serves imports.js like the other console scripts (strict CSP, no markup written from data)', async () => {
  const r = await t.call('GET', '/console/assets/imports.js', null);
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^application\/javascript; charset=utf-8$/);
  assert.match(String(r.headers['content-security-policy']), /script-src 'self'(;|$)/);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.doesNotMatch(r.body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|console\.[a-z]+\(|eval\(/);
  assert.match((await t.call('GET', '/console', null)).body, /<script src="\/console\/assets\/imports\.js" defer>/);
});

it('uploads a CSV with a progress bar, follows the job, says the result in words and downloads the refused rows', async () => {
  const b = await t.newBusiness('Import Shop');
  const { context, page, logged } = await signIn(b.key, { width: 1280, height: 800 });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByRole('heading', { name: 'Import a CSV file' }).waitFor();
  await page
    .getByLabel('CSV file', { exact: true })
    .setInputFiles({ name: 'crm-export.csv', mimeType: 'text/csv', buffer: CSV });
  // The business's one usable opt-in text is offered for rows without text_hash.
  await page.locator(`#import-text option[value="${b.textHash}"]`).waitFor({ state: 'attached' });
  assert.equal(await page.getByLabel('Opt-in text for rows without text_hash').inputValue(), b.textHash);
  assert.equal(await page.getByLabel(/Send a WhatsApp confirmation/).isChecked(), false, 'off by default');
  assert.equal(await page.getByLabel(/^Dry run/).isChecked(), false);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();

  await page.locator('#import-result').waitFor();
  assert.deepEqual(await bar(page, 'import-upload-bar'), { value: CSV.length, max: CSV.length, determinate: true });
  assert.deepEqual(await bar(page, 'import-job-bar'), { value: CSV.length, max: CSV.length, determinate: true });
  assert.match(await page.locator('#import-upload-text').innerText(), /sent \(100 %\)/);
  assert.match(await page.locator('#import-job-text').innerText(), /^Finished: 4 rows read/);
  const summary = await page.locator('#import-summary').innerText();
  assert.match(summary, /4 rows read from crm-export\.csv\./);
  assert.match(summary, /Imported: 3 row\(s\)\./);
  assert.match(summary, /Duplicates \(already recorded, left as they were\): 0\./);
  assert.match(summary, /Refused: 1 — 1 because the phone number is not a valid number \(INVALID_PHONE\)\./);
  assert.match(summary, /WhatsApp confirmations queued: 0\./);
  assert.match(
    await page
      .getByRole('status')
      .filter({ hasText: /^Import imp_/ })
      .innerText(),
    /3 imported, 1 refused/,
  );
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'import-result-h', 'focus moves to the result');
  await page.screenshot({ path: `${shots}console-import-1280.png`, fullPage: true });

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download refused rows (CSV)' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^imp_[A-Za-z0-9_-]+-rejects\.csv$/);
  const rejects = readFileSync((await download.path())!, 'utf8')
    .trim()
    .split(/\r?\n/);
  assert.equal(rejects[0], 'row,code,field,reason');
  assert.equal(rejects.length, 2, rejects.join('\n'));
  assert.match(rejects[1]!, /^3,INVALID_PHONE,phone,/, 'names the bad row (the third data row)');

  // The ledger has the three people, imported with the text.
  const people = (await t.call('GET', '/v1/people?phone=%2B447911123402', b.key)).json();
  assert.equal(people.data.length, 1);
  await context.close();
  assert.deepEqual(logged, [], 'nothing logged, no CSP violation, no script error');
});

it('at 390 px, with the keyboard alone: a dry run of the same file, no sideways scroll', async () => {
  const b = await t.newBusiness('Phone Shop');
  const { context, page, logged } = await signIn(b.key, PHONE_VIEWPORT);
  await page.getByRole('button', { name: 'Import', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Import a CSV file' }).waitFor();
  assert.equal(await sideways(page), false, 'the form fits 390 px');
  await page
    .getByLabel('CSV file', { exact: true })
    .setInputFiles({ name: 'phone.csv', mimeType: 'text/csv', buffer: CSV });
  await page.getByLabel('CSV file', { exact: true }).focus();
  // Tab through the form: kind (radio group), text, country, confirmation, dry run, Upload.
  const stops: string[] = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    stops.push(await page.evaluate(() => document.activeElement?.id ?? ''));
    if (stops.at(-1) === 'import-dry-run') await page.keyboard.press('Space');
  }
  assert.deepEqual(stops, [
    'import-kind-consents',
    'import-text',
    'import-country',
    'import-confirm',
    'import-dry-run',
    'import-upload',
  ]);
  assert.equal(await page.getByLabel(/^Dry run/).isChecked(), true);
  await page.keyboard.press('Enter');
  await page.locator('#import-result').waitFor();
  const summary = await page.locator('#import-summary').innerText();
  assert.match(summary, /Would be imported: 3 row\(s\)\./);
  assert.match(summary, /Refused: 1 — 1 because the phone number is not a valid number/);
  assert.match(summary, /Dry run: nothing was written\./);
  assert.match(await page.locator('#import-status').innerText(), /^Dry run imp_\S+ finished: 3 would be imported/);
  assert.equal((await t.call('GET', '/v1/people?phone=%2B447911123401', b.key)).json().data.length, 0);
  assert.equal(await sideways(page), false, 'no sideways scroll at 390 px with the result shown');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'import-rejects', 'next stop: the rejects');
  await page.screenshot({ path: `${shots}console-import-390.png`, fullPage: true });
  await context.close();
  assert.deepEqual(logged, []);
});

it('a read-only key is not shown the Import tab', async () => {
  const b = await t.newBusiness('Read Shop');
  const read = (await t.call('POST', '/v1/keys', b.key, { name: 'reader', role: 'read' })).json().key as string;
  assert.ok(read, 'a read key');
  const { context, page, logged } = await signIn(read, PHONE_VIEWPORT);
  await page.getByText(/role read/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Audit log' }).isVisible(), true);
  assert.equal(await page.getByRole('button', { name: 'Import', exact: true }).isVisible(), false);
  assert.equal(await page.locator('#import-section').isVisible(), false);
  await context.close();
  assert.deepEqual(logged, []);
});
