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
import { importOptOuts, type OptOutImportInput } from '../../../src/services/import/import-opt-outs.js';
import { importConsents } from '../../../src/services/import/import-consents.js';
import { hashFile } from '../../../src/services/import/import-file.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { verifyChains } from '../../../src/services/consent/person-history.js';

const fixtures = new URL('../../fixtures/import/', import.meta.url);
const fixture = (name: string) => new URL(name, fixtures).pathname;
const dir = mkdtempSync(join(tmpdir(), 'optline-optouts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(ctx: ServiceContext, businessId: string, file: string, opts: Partial<OptOutImportInput> = {}) {
  return importOptOuts(ctx, businessId, {
    file,
    fileName: file.split('/').pop()!,
    fileHash: await hashFile(file),
    actor: 'test',
    defaultCountry: 'GB',
    ...opts,
  });
}

async function events(db: Database, businessId: string): Promise<number> {
  const r = await db.db
    .selectFrom('consent_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('business_id', '=', businessId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

forEachDialect('import opt-outs and suppression lists', (db) => {
  it('Twilio and Braze exports become ledger opt-outs with their time and evidence; the gate refuses them; a re-run changes nothing', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    // The numbers had opted in before (an earlier import).
    const optIns = join(dir, 'opt-ins.csv');
    writeFileSync(
      optIns,
      [
        'phone,topics,action,occurred_at,channel',
        ...['01', '02', '03', '11', '12'].map((n) => `+4479111230${n},delivery,checked_box,2025-06-01T09:00:00Z,web`),
      ].join('\n'),
    );
    assert.equal(
      (
        await importConsents(ctx, business.id, {
          file: optIns,
          fileName: 'opt-ins.csv',
          fileHash: await hashFile(optIns),
          actor: 'test',
          defaultTextHash: text.hash,
        })
      ).imported,
      5,
    );

    const dry = await run(ctx, business.id, fixture('twilio-opt-outs.csv'), { dryRun: true });
    assert.equal(await events(db(), business.id), 5, 'a dry run writes nothing');
    const tw = await run(ctx, business.id, fixture('twilio-opt-outs.csv'));
    assert.deepEqual({ ...dry, dryRun: false }, tw);
    assert.equal(tw.format, 'twilio');
    assert.deepEqual([tw.total, tw.imported, tw.duplicates], [4, 2, 0]);
    assert.deepEqual(
      tw.refused.map((r) => [r.row, r.code]),
      [
        [3, 'VALIDATION_FAILED'],
        [4, 'INVALID_PHONE'],
      ],
    );
    const br = await run(ctx, business.id, fixture('braze-subscription-group.csv'));
    assert.equal(br.format, 'braze');
    assert.deepEqual([br.total, br.imported, br.refused.length], [3, 2, 1]);

    for (const n of ['01', '02', '11']) {
      const d = await decideSend(ctx, business.id, { person: { phone: `+4479111230${n}` }, topic: 'delivery' });
      assert.deepEqual(
        [d.outcome, d.reasons.map((x) => x.code)],
        ['refuse', ['OPTED_OUT']],
        `+4479111230${n} opted out`,
      );
    }
    for (const n of ['03', '12'])
      assert.equal(
        (await decideSend(ctx, business.id, { person: { phone: `+4479111230${n}` }, topic: 'delivery' })).outcome,
        'allow',
      );

    const ev = await db()
      .db.selectFrom('consent_events as e')
      .innerJoin('consent_evidence as v', (j) => j.onRef('v.event_id', '=', 'e.id'))
      .select(['e.type', 'e.channel', 'e.occurred_at', 'v.evidence'])
      .where('e.business_id', '=', business.id)
      .where('e.type', '=', 'opt_out')
      .orderBy('e.occurred_at')
      .execute();
    const first = ev.find((e) => Number(e.occurred_at) === Date.parse('2025-11-02T10:15:00Z'));
    assert.ok(first, 'the original time is the event time');
    assert.equal(first.channel, 'import');
    const evidence = JSON.parse(first.evidence!);
    assert.equal(evidence.format, 'twilio');
    assert.equal(evidence.source, 'opt-out-message');
    assert.equal(evidence.senderId, 'MG00000000000000000000000000000000');
    assert.equal(evidence.row, 1);

    const before = await events(db(), business.id);
    const again = await run(ctx, business.id, fixture('twilio-opt-outs.csv'));
    assert.deepEqual([again.imported, again.duplicates], [0, 2]);
    assert.equal((await run(ctx, business.id, fixture('braze-subscription-group.csv'))).imported, 0);
    assert.equal(await events(db(), business.id), before, 'a re-run changes nothing');
    assert.equal((await verifyChains(db().db, ctx.keyring.ledger, { businessId: business.id })).ok, true);
  });

  it('a plain list of numbers (with or without a header) and a generic column mapping', async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    const plain = join(dir, 'plain.txt');
    writeFileSync(plain, '07911 123021\n+447911123022\n\n+447911123022\n');
    const r = await run(ctx, business.id, plain);
    assert.deepEqual([r.format, r.total, r.imported, r.duplicates], ['list', 3, 2, 1]);
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: '+447911123021' }, topic: 'delivery' })).outcome,
      'refuse',
    );
    assert.equal(
      (await run(ctx, business.id, plain)).imported,
      0,
      'a list without times is recognised on a re-run too',
    );

    const mapped = join(dir, 'mapped.csv');
    writeFileSync(
      mapped,
      'Mobile,Date,State\n+447911123031,2025-01-02T03:04:05+01:00,Unsubscribed\n+447911123032,2025-01-02T03:04:05Z,subscribed\n+447911123033,yesterday,stop\n',
    );
    const m = await run(ctx, business.id, mapped, { map: { phone: 'Mobile', occurredAt: 'Date', status: 'State' } });
    assert.deepEqual([m.format, m.imported], ['mapped', 1]);
    assert.deepEqual(m.refusedByCode, { VALIDATION_FAILED: 2 });
    await assert.rejects(
      run(ctx, business.id, mapped, { map: { phone: 'Cell' } }),
      (e: Error & { code?: string }) => e.code === 'VALIDATION_FAILED',
    );
  });
});
