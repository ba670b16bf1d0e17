import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness } from '../../helpers/seed.js';
import type { Database } from '../../../src/storage/db.js';
import type { ServiceContext } from '../../../src/services/context.js';
import { importConsents, type ImportInput, type ImportResult } from '../../../src/services/import/import-consents.js';
import { hashFile } from '../../../src/services/import/import-file.js';

const dir = mkdtempSync(join(tmpdir(), 'optline-import-opts-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const HEADER = 'phone,topics,action,occurred_at,channel,text_hash,confirmation_sent_at';
const T0 = '2026-05-01T09:00:00Z';

async function importLines(
  ctx: ServiceContext,
  businessId: string,
  lines: string[],
  opts: Partial<ImportInput> = {},
): Promise<ImportResult> {
  const file = join(dir, `${++files}.csv`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return importConsents(ctx, businessId, {
    file,
    fileName: 'c.csv',
    fileHash: await hashFile(file),
    actor: 'test',
    defaultCountry: 'GB',
    ...opts,
  });
}

async function tableCounts(db: Database, businessId: string) {
  const out: Record<string, number> = {};
  for (const t of ['consent_events', 'consent_evidence', 'people', 'consent_state', 'messages'] as const) {
    const r = await db.db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('business_id', '=', businessId)
      .executeTakeFirstOrThrow();
    out[t] = Number(r.n);
  }
  return out;
}

forEachDialect('import options: confirmations, dry run, refusals by code', (db) => {
  it('queues no WhatsApp confirmation unless asked; with confirm, one per person whose state changed', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const lines = [
      HEADER,
      ...Array.from({ length: 5 }, (_, i) => `+44770011300${i},delivery,checked_box,${T0},web,${text.hash},`),
    ];
    const quiet = await importLines(ctx, business.id, lines);
    assert.equal(quiet.imported, 5);
    assert.equal(quiet.confirmations, 0);
    assert.equal((await tableCounts(db(), business.id)).messages, 0, 'an import without confirm queues nothing');

    const more = [
      HEADER,
      ...Array.from(
        { length: 4 },
        (_, i) => `+44770011400${i},delivery;billing,checked_box,${T0},web,${text.hash},${i === 0 ? T0 : ''}`,
      ),
    ];
    const asked = await importLines(ctx, business.id, more, { confirm: true });
    assert.equal(asked.imported, 4);
    assert.equal(asked.confirmations, 3, 'the row the source confirmed already is not confirmed again');
    const msgs = await db().db.selectFrom('messages').select(['kind']).where('business_id', '=', business.id).execute();
    assert.deepEqual(
      msgs.map((m) => m.kind),
      ['confirmation', 'confirmation', 'confirmation'],
    );
  });

  it('a dry run writes nothing and gives the counts, refusals and confirmations the real run then gives', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const row = (i: number, topics = 'delivery') => `+44770011500${i},${topics},checked_box,${T0},web,${text.hash},`;
    // A person spread over two batches with another topic (rows 1 and 4), a repeat of row 2 in a later batch, two bad
    // rows.
    const lines = [
      HEADER,
      row(0),
      row(1),
      row(2),
      row(0, 'billing'),
      row(1),
      `nope,delivery,checked_box,${T0},web,${text.hash},`,
      row(3),
      `+447700115009,delivery,inferred,${T0},web,${text.hash},`,
      `+447700115008,delivery,checked_box,${T0},fax,${text.hash},`,
    ];
    await importLines(ctx, business.id, [HEADER, row(3)]); // already there before
    const before = await tableCounts(db(), business.id);
    const dry = await importLines(ctx, business.id, lines, { confirm: true, dryRun: true, batchSize: 3 });
    assert.deepEqual(await tableCounts(db(), business.id), before, 'a dry run writes nothing');
    assert.equal(dry.dryRun, true);
    const real = await importLines(ctx, business.id, lines, { confirm: true, batchSize: 3 });
    assert.equal(real.dryRun, false);
    assert.deepEqual({ ...dry, dryRun: false }, real);
    assert.deepEqual(
      [real.total, real.imported, real.duplicates, real.refused.length, real.confirmations],
      [9, 4, 2, 3, 4],
    );
    assert.deepEqual(real.refusedByCode, { INVALID_PHONE: 1, NO_USER_ACTION: 1, VALIDATION_FAILED: 1 });
    assert.equal((await tableCounts(db(), business.id)).messages, 4, 'one per person and batch whose state changed');
    // A dry run after the real one: everything is there already.
    const after = await importLines(ctx, business.id, lines, { confirm: true, dryRun: true, batchSize: 3 });
    assert.deepEqual([after.imported, after.duplicates, after.confirmations], [0, 6, 0]);
  });
});
