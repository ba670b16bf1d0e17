import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { seedBusiness } from '../helpers/seed.js';
import type { Database } from '../../src/storage/db.js';
import { importConsents } from '../../src/services/import/import-consents.js';
import { importOptOuts } from '../../src/services/import/import-opt-outs.js';
import { hashFile } from '../../src/services/import/import-file.js';
import { decideSend } from '../../src/services/dispatch/decide-send.js';

/**
 * A migration from another tool: the business's Twilio STOP export and Braze unsubscribes come first, then its
 * opt-ins (older than the STOPs). Scaled to run in well under a minute per dialect on a shared machine:
 * OPTLINE_MIGRATION_ROWS=100000 runs the full size.
 */
const ROWS = Number(process.env.OPTLINE_MIGRATION_ROWS ?? 10_000);
const TWILIO_STOPS = 200;
const BRAZE_STOPS = 100;
const dir = mkdtempSync(join(tmpdir(), 'optline-migration-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const phone = (i: number) => `+447${String(911_000_000 + i)}`;

async function tableCounts(db: Database, businessId: string) {
  const out: Record<string, number> = {};
  for (const t of ['consent_events', 'consent_evidence', 'people', 'consent_state', 'messages'] as const) {
    out[t] = Number(
      (
        await db.db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('business_id', '=', businessId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  }
  return out;
}

forEachDialect('migration: Twilio and Braze STOP exports plus opt-ins', (db) => {
  it(`${ROWS} opt-ins after ${TWILIO_STOPS + BRAZE_STOPS} imported STOPs: the STOPped numbers are refused, a re-run and a dry run change nothing`, async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const twilio = join(dir, `twilio-${db().caps.concurrentWriters}.csv`);
    writeFileSync(
      twilio,
      [
        'contact_id,correlation_id,sender_id,status,source,date_of_consent',
        ...Array.from(
          { length: TWILIO_STOPS },
          (_, i) => `${phone(i * 7)},c${i},MG0000,opt-out,opt-out-message,2025-12-01T10:00:00Z`,
        ),
      ].join('\n'),
    );
    const braze = join(dir, `braze-${db().caps.concurrentWriters}.csv`);
    writeFileSync(
      braze,
      [
        'external_id,phone,subscription_group_id,subscription_state,updated_at',
        ...Array.from(
          { length: BRAZE_STOPS },
          (_, i) => `u${i},${phone(i * 11 + 3)},grp-1,unsubscribed,2025-12-02T10:00:00Z`,
        ),
      ].join('\n'),
    );
    const optIns = join(dir, `opt-ins-${db().caps.concurrentWriters}.csv`);
    const base = Date.UTC(2025, 0, 1);
    writeFileSync(
      optIns,
      [
        'phone,topics,action,occurred_at,channel',
        ...Array.from(
          { length: ROWS },
          (_, i) => `${phone(i)},delivery;billing,checked_box,${new Date(base + i * 1000).toISOString()},web`,
        ),
      ].join('\n'),
    );
    const optInInput = {
      file: optIns,
      fileName: 'opt-ins.csv',
      fileHash: await hashFile(optIns),
      actor: 'test',
      defaultTextHash: text.hash,
    };
    const stops = async (file: string, dryRun = false) =>
      importOptOuts(ctx, business.id, {
        file,
        fileName: 'x.csv',
        fileHash: await hashFile(file),
        actor: 'test',
        dryRun,
      });

    // A dry run of everything writes nothing.
    const dryTwilio = await stops(twilio, true);
    const dryOptIns = await importConsents(ctx, business.id, { ...optInInput, dryRun: true });
    assert.deepEqual(await tableCounts(db(), business.id), {
      consent_events: 0,
      consent_evidence: 0,
      people: 0,
      consent_state: 0,
      messages: 0,
    });
    assert.equal(dryOptIns.imported, ROWS);

    const tw = await stops(twilio);
    assert.deepEqual({ ...dryTwilio, dryRun: false }, tw);
    const br = await stops(braze);
    const stopped = new Set([
      ...Array.from({ length: TWILIO_STOPS }, (_, i) => i * 7),
      ...Array.from({ length: BRAZE_STOPS }, (_, i) => i * 11 + 3),
    ]);
    // A number in both exports has two opt-outs, each with its own time and evidence.
    assert.deepEqual([tw.imported, br.imported], [TWILIO_STOPS, BRAZE_STOPS]);
    const ins = await importConsents(ctx, business.id, optInInput);
    assert.deepEqual([ins.imported, ins.refused.length, ins.confirmations], [ROWS, 0, 0]);

    // The gate: every 97th number, STOPped or not.
    for (let i = 0; i < ROWS; i += 97) {
      const d = await decideSend(ctx, business.id, { person: { phone: phone(i) }, topic: 'delivery' });
      assert.equal(
        d.outcome,
        stopped.has(i) ? 'refuse' : 'allow',
        `${phone(i)} ${stopped.has(i) ? 'STOPped' : 'opted in'}`,
      );
    }
    for (const i of [0, 7, 3, 14])
      assert.equal(
        (await decideSend(ctx, business.id, { person: { phone: phone(i) }, topic: 'billing' })).outcome,
        'refuse',
      );

    // A re-run of every file, and a dry run after it, change nothing.
    const before = await tableCounts(db(), business.id);
    assert.equal((await stops(twilio)).imported, 0);
    assert.equal((await stops(braze)).imported, 0);
    const again = await importConsents(ctx, business.id, optInInput);
    assert.deepEqual([again.imported, again.duplicates], [0, ROWS]);
    assert.equal((await importConsents(ctx, business.id, { ...optInInput, dryRun: true })).imported, 0);
    assert.deepEqual(await tableCounts(db(), business.id), before);
  });
});
