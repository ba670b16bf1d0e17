import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { seedBusiness } from '../helpers/seed.js';
import { runImport } from '../../src/cli/commands/import.js';
import type { CliIO } from '../../src/cli/run.js';
import { runExport } from '../../src/cli/commands/export.js';

const dir = mkdtempSync(join(tmpdir(), 'optline-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function collectingIO(): CliIO & { stdout: () => string; stderr: () => string } {
  const grab = () => {
    const s = new PassThrough();
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString('utf8')));
    return { s, text: () => text };
  };
  const out = grab();
  const err = grab();
  return { out: out.s, err: err.s, isTTY: false, stdout: out.text, stderr: err.text };
}

function file(name: string, body: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

forEachDialect('optline import / export', (db) => {
  it('exit 0 when every row is in, 2 with the refused rows listed, and a re-run is all duplicates', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    // A spreadsheet's export: BOM, capitalised headers, CRLF line ends, padded cells.
    const good = file(
      'good.csv',
      `\uFEFFPhone, Topics ,Action,Occurred_At,Channel\r\n+447911123456 , delivery ,checked_box,2026-05-01T09:00:00Z,web\r\n`,
    );
    const io = collectingIO();
    assert.equal(await runImport(ctx, good, { business: business.slug, text: text.hash }, io), 0);
    assert.equal(
      io.stdout(),
      'good.csv: 1 row: 1 imported, 0 already there, 0 refused; 0 WhatsApp confirmations queued\n',
    );

    const mixed = file(
      'mixed.csv',
      [
        'phone,topics,action,occurred_at,channel',
        '+447911123456,delivery,checked_box,2026-05-01T09:00:00Z,web',
        '07911 123457,billing,tapped_button,2026-05-01T09:00:00Z,app',
        'not a number,billing,checked_box,2026-05-01T09:00:00Z,web',
        '+447911123458,billing,inferred,2026-05-01T09:00:00Z,web',
      ].join('\n'),
    );
    const io2 = collectingIO();
    assert.equal(await runImport(ctx, mixed, { business: business.id, text: text.hash, defaultCountry: 'gb' }, io2), 2);
    const lines = io2.stdout().trim().split('\n');
    assert.equal(
      lines[0],
      'mixed.csv: 4 rows: 1 imported, 1 already there, 2 refused; 0 WhatsApp confirmations queued',
    );
    assert.equal(lines[1], 'refused by code: INVALID_PHONE 1, NO_USER_ACTION 1');
    assert.match(lines[2]!, /^row 3: INVALID_PHONE \(phone\): "not a number" is not a usable phone number/);
    assert.match(lines[3]!, /^row 4: NO_USER_ACTION \(action\): "inferred" is not an active user action/);

    const io3 = collectingIO();
    assert.equal(
      await runImport(ctx, mixed, { business: business.id, text: text.hash, defaultCountry: 'GB', json: true }, io3),
      2,
    );
    const json = JSON.parse(io3.stdout()) as {
      file: string;
      imported: number;
      duplicates: number;
      refused: { row: number }[];
    };
    assert.deepEqual(
      [json.file, json.imported, json.duplicates, json.refused.map((r) => r.row)],
      ['mixed.csv', 0, 2, [3, 4]],
    );
    assert.equal(io3.stderr(), '');
  });

  it('exit 1 with one clear line when nothing can be done', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const cases: [string, string, RegExp][] = [
      [join(dir, 'missing.csv'), business.slug, /^optline import: cannot read .*missing\.csv: no such file\n$/],
      [
        file('ok.csv', 'phone,topics,action,occurred_at,channel\n'),
        'nobody',
        /^optline import: no business with slug or id "nobody"\n$/,
      ],
      [
        file('ragged.csv', 'phone,topics,action,occurred_at,channel\n+447911123456,delivery\n'),
        business.slug,
        /^optline import: ragged\.csv is not a CSV file this command can read: .*line 2/,
      ],
      [
        file('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])),
        business.slug,
        /^optline import: image\.png: The file has no phone, topics/,
      ],
      [
        file('columns.csv', 'mobile,topics\n+447911123456,delivery\n'),
        business.slug,
        /^optline import: columns\.csv: The file has no phone, action, occurred_at, channel column/,
      ],
    ];
    for (const [path, biz, expected] of cases) {
      const io = collectingIO();
      assert.equal(await runImport(ctx, path, { business: biz, text: text.hash }, io), 1, path);
      assert.match(io.stderr(), expected);
      assert.equal(io.stderr().trim().split('\n').length, 1);
    }
  });

  it('export writes CSV to stdout or a file, and JSON lines', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const csv = file(
      'e.csv',
      'phone,topics,action,occurred_at,channel\n+12025550143,delivery,checked_box,2026-05-01T09:00:00Z,web\n',
    );
    assert.equal(await runImport(ctx, csv, { business: business.slug, text: text.hash }, collectingIO()), 0);
    const io = collectingIO();
    assert.equal(await runExport(ctx, { business: business.slug }, io), 0);
    const [header, row] = io.stdout().trim().split('\n');
    assert.match(header!, /^event_id,person_id,phone,/);
    assert.match(row!, /,'\+12025550143,1,opt_in,topics,delivery,import,checked_box,2026-05-01T09:00:00.000Z,/);

    const out = join(dir, 'ledger.jsonl');
    const io2 = collectingIO();
    assert.equal(
      await runExport(ctx, { business: business.id, format: 'json', out, since: '2026-01-01T00:00:00Z' }, io2),
      0,
    );
    assert.equal(JSON.parse(readFileSync(out, 'utf8').trim()).phone, '+12025550143');
    assert.equal(io2.stdout(), '');
    assert.equal(io2.stderr(), `exported 1 event(s) to ${out}\n`);

    const io3 = collectingIO();
    assert.equal(await runExport(ctx, { business: business.slug, since: 'last week' }, io3), 1);
    assert.match(io3.stderr(), /^optline export: --since "last week" is not an ISO 8601 date-time/);
  });
});
