import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { seedBusiness } from '../helpers/seed.js';
import { runImport } from '../../src/cli/commands/import.js';
import type { CliIO } from '../../src/cli/run.js';

const dir = mkdtempSync(join(tmpdir(), 'optline-cli-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function collectingIO(): CliIO & { stdout: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { out, err: new PassThrough(), isTTY: false, stdout: () => text } as CliIO & { stdout: () => string };
}

forEachDialect('optline import --dry-run / --confirm / --rejects / --opt-outs', (db) => {
  it('a dry run prints what would happen and writes nothing; --confirm queues; --rejects writes every refused row', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const f = join(dir, 'mixed.csv');
    writeFileSync(
      f,
      [
        'phone,topics,action,occurred_at,channel',
        '+447911123456,delivery,checked_box,2026-05-01T09:00:00Z,web',
        '"not, a number",billing,checked_box,2026-05-01T09:00:00Z,web',
        '+447911123458,billing,inferred,2026-05-01T09:00:00Z,web',
      ].join('\n'),
    );
    const rejects = join(dir, 'rejects.csv');
    const dry = collectingIO();
    assert.equal(
      await runImport(ctx, f, { business: business.slug, text: text.hash, dryRun: true, confirm: true }, dry),
      2,
    );
    assert.equal(
      dry.stdout().split('\n')[0],
      'mixed.csv (dry run, nothing written): 3 rows: 1 would be imported, 0 already there, 2 refused; 1 WhatsApp confirmation would be queued',
    );
    const n = async (t: 'consent_events' | 'messages') =>
      Number(
        (
          await db()
            .db.selectFrom(t)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    assert.deepEqual([await n('consent_events'), await n('messages')], [0, 0]);

    const real = collectingIO();
    assert.equal(
      await runImport(ctx, f, { business: business.slug, text: text.hash, confirm: true, rejects }, real),
      2,
    );
    assert.match(real.stdout(), /1 imported, 0 already there, 2 refused; 1 WhatsApp confirmation queued/);
    assert.deepEqual([await n('consent_events'), await n('messages')], [1, 1]);
    const rows = parse(readFileSync(rejects), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => [r.row, r.code, r.field]),
      [
        ['2', 'INVALID_PHONE', 'phone'],
        ['3', 'NO_USER_ACTION', 'action'],
      ],
    );
    assert.match(rows[0]!.reason!, /"not, a number" is not a usable phone number/);
  });

  it('--opt-outs imports a STOP list; the counts read the same way', async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    const f = join(dir, 'stops.csv');
    writeFileSync(f, 'Mobile,When\n+447911123461,2025-03-01T10:00:00Z\nnope,2025-03-01T10:00:00Z\n');
    const io = collectingIO();
    assert.equal(
      await runImport(ctx, f, { business: business.slug, optOuts: true, map: 'phone=Mobile,occurredAt=When' }, io),
      2,
    );
    assert.match(io.stdout(), /^stops\.csv: 2 rows: 1 imported, 0 already there, 1 refused/);
    const again = collectingIO();
    assert.equal(
      await runImport(ctx, f, { business: business.slug, optOuts: true, map: 'phone=Mobile,occurredAt=When' }, again),
      2,
    );
    assert.match(again.stdout(), /0 imported, 1 already there, 1 refused/);
  });
});
