import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence, webOptIn } from '../../helpers/seed.js';
import type { Database } from '../../../src/storage/db.js';
import type { ServiceContext } from '../../../src/services/context.js';
import { importConsents, type ImportResult } from '../../../src/services/import/import-consents.js';
import { importSourceRef } from '../../../src/services/import/import-row.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { erasePerson } from '../../../src/services/consent/erase-person.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { verifyChains } from '../../../src/services/consent/person-history.js';
import { createTopic } from '../../../src/services/admin/manage-topics.js';
import { registerText } from '../../../src/services/admin/manage-texts.js';
import { CsvError } from 'csv-parse';
import { hashFile, readCsv } from '../../../src/services/import/import-file.js';

const dir = mkdtempSync(join(tmpdir(), 'optline-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const HEADER = 'phone,topics,action,occurred_at,channel,text_hash,confirmation_sent_at,evidence_ip,evidence_page_url';

/** Writes the CSV the way an export of another system would look, and imports it through the CLI's reader. */
async function importCsv(
  ctx: ServiceContext,
  businessId: string,
  lines: string[],
  opts: { name?: string; batchSize?: number; defaultTextHash?: string; via?: 'file' | 'rows'; confirm?: boolean } = {},
): Promise<ImportResult> {
  const file = join(dir, `${++files}.csv`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  // `file`: read and checked on the worker thread (the CLI's path); `rows`: records checked on this thread.
  return importConsents(ctx, businessId, {
    ...(opts.via === 'rows' ? { rows: readCsv(file).records } : { file }),
    fileName: opts.name ?? 'consents.csv',
    fileHash: await hashFile(file),
    actor: 'test',
    defaultCountry: 'GB',
    ...(opts.defaultTextHash ? { defaultTextHash: opts.defaultTextHash } : {}),
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    ...(opts.confirm ? { confirm: true } : {}),
  });
}

async function count(
  db: Database,
  table: 'consent_events' | 'people' | 'messages' | 'consent_state' | 'consent_evidence',
  businessId: string,
): Promise<number> {
  const r = await db.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .where('business_id', '=', businessId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

async function counts(db: Database, businessId: string) {
  return {
    events: await count(db, 'consent_events', businessId),
    evidence: await count(db, 'consent_evidence', businessId),
    people: await count(db, 'people', businessId),
    states: await count(db, 'consent_state', businessId),
    messages: await count(db, 'messages', businessId),
  };
}

async function eventsOf(db: Database, businessId: string, phone: string) {
  return db.db
    .selectFrom('consent_events as e')
    .innerJoin('people as p', (j) => j.onRef('p.business_id', '=', 'e.business_id').onRef('p.id', '=', 'e.person_id'))
    .leftJoin('consent_evidence as v', (j) =>
      j.onRef('v.business_id', '=', 'e.business_id').onRef('v.event_id', '=', 'e.id'),
    )
    .selectAll('e')
    .select('v.evidence')
    .where('e.business_id', '=', businessId)
    .where('p.phone_e164', '=', phone)
    .orderBy('e.seq')
    .execute();
}

/** (phone, topic) -> status@decided_at, the projection the gate reads. */
async function stateMap(db: Database, businessId: string): Promise<Record<string, string>> {
  const rows = await db.db
    .selectFrom('consent_state as s')
    .innerJoin('people as p', (j) => j.onRef('p.business_id', '=', 's.business_id').onRef('p.id', '=', 's.person_id'))
    .innerJoin('topics as t', (j) => j.onRef('t.business_id', '=', 's.business_id').onRef('t.id', '=', 's.topic_id'))
    .select(['p.phone_e164', 't.key', 's.status', 's.decided_at'])
    .where('s.business_id', '=', businessId)
    .execute();
  return Object.fromEntries(rows.map((r) => [`${r.phone_e164} ${r.key}`, `${r.status}@${Number(r.decided_at)}`]));
}

const T0 = '2026-05-01T09:00:00Z';

forEachDialect('import consents', (db) => {
  it('imports good rows with their evidence, state and, when asked, confirmations', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const r = await importCsv(
      ctx,
      business.id,
      [
        HEADER,
        `+44 7911 123456,delivery;billing,checked_box,${T0},web,${text.hash},,203.0.113.7,https://acme.example/join`,
        `07911 123457,delivery,submitted_form,2026-05-01T10:00:00+01:00,website,${text.hash},,,`,
        `+447911123458,billing,signed_paper,${T0},paper,${text.hash},2026-05-01T09:05:00Z,,`,
      ],
      { confirm: true },
    );
    assert.deepEqual(r, {
      total: 3,
      imported: 3,
      duplicates: 0,
      refused: [],
      refusedByCode: {},
      confirmations: 2,
      dryRun: false,
    });
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: '+447911123456' }, topic: 'billing' })).outcome,
      'allow',
    );
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: '+447911123457' }, topic: 'delivery' })).outcome,
      'allow',
      'a national number takes the default country',
    );

    const [ev] = await eventsOf(db(), business.id, '+447911123456');
    assert.equal(ev!.channel, 'import');
    assert.equal(ev!.topic_keys, '["billing","delivery"]');
    assert.equal(Number(ev!.occurred_at), Date.parse(T0));
    assert.match(ev!.source_ref!, /^import:[0-9a-f]{64}$/);
    const evidence = JSON.parse(ev!.evidence!);
    assert.deepEqual(evidence, {
      file: 'consents.csv',
      fileHash: evidence.fileHash,
      ip: '203.0.113.7',
      originalChannel: 'web',
      pageUrl: 'https://acme.example/join',
      row: 1,
    });
    assert.match(evidence.fileHash, /^[0-9a-f]{64}$/);
    const [second] = await eventsOf(db(), business.id, '+447911123457');
    assert.equal(Number(second!.occurred_at), Date.parse(T0), 'the zone of occurred_at is honoured');
    assert.equal(JSON.parse(second!.evidence!).originalChannel, 'web');
    const [paper] = await eventsOf(db(), business.id, '+447911123458');
    assert.deepEqual(
      { ...JSON.parse(paper!.evidence!), fileHash: 'x' },
      {
        confirmationSentAt: '2026-05-01T09:05:00.000Z',
        file: 'consents.csv',
        fileHash: 'x',
        originalChannel: 'in_person',
        row: 3,
      },
    );

    // A confirmation for each person whose state changed, except the row the source had confirmed already.
    const msgs = await db()
      .db.selectFrom('messages')
      .select(['kind', 'status', 'payload'])
      .where('business_id', '=', business.id)
      .execute();
    assert.equal(msgs.length, 2);
    assert.ok(msgs.every((m) => m.kind === 'confirmation' && m.status === 'queued'));
    assert.ok(msgs.some((m) => JSON.stringify(JSON.parse(m.payload).topicKeys.sort()) === '["billing","delivery"]'));
    assert.equal((await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: business.id })).ok, true);
  });

  it('refuses each kind of bad row with its row number, and writes nothing of it', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    await createTopic(ctx, business.id, { key: 'promos', name: 'promotions', category: 'marketing' });
    const deliveryOnly = await registerText(ctx, business.id, {
      name: 'delivery',
      language: 'en',
      topicKeys: ['delivery'],
      body: `Yes, send me delivery updates from ${business.displayName} on WhatsApp. Reply STOP at any time to opt out.`,
    });
    const unusable = await registerText(ctx, business.id, {
      name: 'bad',
      language: 'en',
      topicKeys: ['delivery'],
      body: 'Yes please.',
    });
    assert.equal(unusable.usable, false);
    const h = text.hash;
    const r = await importCsv(ctx, business.id, [
      HEADER,
      `+447700111001,delivery,checked_box,${T0},web,${h},,,`, // 1 good
      `12345,delivery,checked_box,${T0},web,${h},,,`, // 2
      `+447700111003,delivery,sent_message,${T0},web,${h},,,`, // 3: writing to the business is not consent
      `+447700111004,delivery,checked_box,,web,${h},,,`, // 4
      `+447700111005,delivery,checked_box,2026-05-01 09:00,web,${h},,,`, // 5: no zone
      `+447700111006,delivery,checked_box,2099-01-01T00:00:00Z,web,${h},,,`, // 6
      `+447700111007,delivery,checked_box,${T0},carrier pigeon,${h},,,`, // 7
      `+447700111008,nope,checked_box,${T0},web,${h},,,`, // 8
      `+447700111009,promos,checked_box,${T0},web,${h},,,`, // 9
      `+447700111010,delivery,checked_box,${T0},web,${'0'.repeat(64)},,,`, // 10
      `+447700111011,delivery,checked_box,${T0},web,${unusable.hash},,,`, // 11
      `+447700111012,billing,checked_box,${T0},web,${deliveryOnly.hash},,,`, // 12
      `+447700111013,,checked_box,${T0},web,${h},,,`, // 13
      `+447700111014,delivery,checked_box,${T0},web,,,,`, // 14: no text and no default
      `+447700111015,delivery,checked_box,${T0},web,${h},yesterday,,`, // 15
      `+447700111016,delivery,checked_box,2026-02-30T09:00:00Z,web,${h},,,`, // 16
    ]);
    assert.equal(r.total, 16);
    assert.equal(r.imported, 1);
    assert.deepEqual(
      r.refused.map((x) => [x.row, x.code, x.field]),
      [
        [2, 'INVALID_PHONE', 'phone'],
        [3, 'NO_USER_ACTION', 'action'],
        [4, 'VALIDATION_FAILED', 'occurred_at'],
        [5, 'VALIDATION_FAILED', 'occurred_at'],
        [6, 'VALIDATION_FAILED', 'occurred_at'],
        [7, 'VALIDATION_FAILED', 'channel'],
        [8, 'UNKNOWN_TOPIC', 'topics'],
        [9, 'CATEGORY_NOT_ALLOWED', 'topics'],
        [10, 'UNKNOWN_TEXT', 'text_hash'],
        [11, 'TEXT_CHECK_FAILED', 'text_hash'],
        [12, 'TEXT_TOPICS_MISMATCH', 'text_hash'],
        [13, 'VALIDATION_FAILED', 'topics'],
        [14, 'MISSING_EVIDENCE', 'text_hash'],
        [15, 'VALIDATION_FAILED', 'confirmation_sent_at'],
        [16, 'VALIDATION_FAILED', 'occurred_at'],
      ],
    );
    assert.ok(r.refused.every((x) => x.reason.length > 10));
    assert.deepEqual(await counts(db(), business.id), { events: 1, evidence: 1, people: 1, states: 1, messages: 0 });
  });

  it('a file without a required column is refused as a whole', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    await assert.rejects(
      importCsv(ctx, business.id, ['phone,topics,action,channel', `+447700111001,delivery,checked_box,web`], {
        defaultTextHash: text.hash,
      }),
      /occurred_at/,
    );
  });

  it('the worker-thread reader and the in-thread reader give the same result; a CSV broken half way keeps the batches before', async () => {
    const ctx = testContext(db());
    const a = await seedBusiness(ctx);
    const b = await seedBusiness(ctx);
    const rows = (text: string) => [
      HEADER,
      ...Array.from(
        { length: 9 },
        (_, i) => `+44770011300${i},delivery,${i === 4 ? 'assumed' : 'checked_box'},${T0},web,${text},,10.0.0.${i},`,
      ),
    ];
    const viaFile = await importCsv(ctx, a.business.id, rows(a.text.hash), { batchSize: 2, via: 'file' });
    const viaRows = await importCsv(ctx, b.business.id, rows(b.text.hash), { batchSize: 2, via: 'rows' });
    assert.deepEqual(viaFile, viaRows);
    assert.deepEqual([viaFile.total, viaFile.imported, viaFile.refused.map((r) => r.row)], [9, 8, [5]]);
    assert.deepEqual(await counts(db(), a.business.id), await counts(db(), b.business.id));

    // An unclosed quote on row 5: csv-parse fails there; rows 1-4 (two batches of two) are already committed.
    const c = await seedBusiness(ctx);
    const broken = rows(c.text.hash);
    broken[5] = `+447700113004,delivery,checked_box,${T0},web,${c.text.hash},,"10.0.0.4,`;
    await assert.rejects(
      importCsv(ctx, c.business.id, broken, { batchSize: 2 }),
      (e: Error) => e instanceof CsvError && /quote/i.test(e.message),
    );
    assert.equal((await counts(db(), c.business.id)).events, 4);
  });

  it('on SQLite the settings an import changes (lazy checkpoints, NORMAL sync until the final fsync) are put back, even after a failure', async () => {
    const raw = db().sqlite;
    if (!raw) return;
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const settings = () => [
      raw.pragma('synchronous', { simple: true }),
      raw.pragma('wal_autocheckpoint', { simple: true }),
    ];
    const before = settings();
    assert.deepEqual(before, [2, 1000], 'FULL, SQLite default');
    await importCsv(ctx, business.id, [HEADER, `+447700113101,delivery,checked_box,${T0},web,${text.hash},,,`]);
    assert.deepEqual(settings(), before);
    await assert.rejects(
      importCsv(ctx, business.id, [HEADER, `+447700113102,delivery,checked_box,${T0},web,${text.hash},,"x,`]),
    );
    assert.deepEqual(settings(), before);
  });

  it('running the same file again, or a renamed copy, changes nothing', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const lines = [
      HEADER,
      ...Array.from(
        { length: 7 },
        (_, i) => `+44770011200${i},delivery,checked_box,${T0},web,${text.hash},,10.0.0.${i},`,
      ),
      `bad,delivery,checked_box,${T0},web,${text.hash},,,`,
    ];
    const first = await importCsv(ctx, business.id, lines, { batchSize: 3 });
    assert.equal(first.imported, 7);
    const before = await counts(db(), business.id);
    const again = await importCsv(ctx, business.id, lines, { batchSize: 3 });
    assert.deepEqual(again, { ...first, imported: 0, duplicates: 7, confirmations: 0 });
    ctx.clock.advance(60_000);
    const renamed = await importCsv(
      ctx,
      business.id,
      lines.map((l) => l.replace(',10.0.0.', ',192.0.2.')),
      { name: 'copy of consents.csv' },
    );
    assert.equal(renamed.duplicates, 7, 'other evidence or file name: still the same consents');
    assert.deepEqual(await counts(db(), business.id), before);
    // The same row twice in one file is one consent.
    const twice = await importCsv(ctx, business.id, [
      HEADER,
      lines[1]!.replace('+447700112000', '+447700112099'),
      lines[1]!.replace('+447700112000', '+447700112099'),
    ]);
    assert.deepEqual([twice.imported, twice.duplicates], [1, 1]);
    // ...also when the two copies are in consecutive batches.
    const row = lines[1]!.replace('+447700112000', '+447700112098');
    const apart = await importCsv(ctx, business.id, [HEADER, row, row, row, row], { batchSize: 1 });
    assert.deepEqual([apart.imported, apart.duplicates], [1, 3]);
    assert.equal((await eventsOf(db(), business.id, '+447700112098')).length, 1);
  });

  it('rows of one person chain one after another, within a batch and across batches', async () => {
    for (const batchSize of [100, 1]) {
      const ctx = testContext(db());
      const { business, text } = await seedBusiness(ctx);
      const phone = '+447700113001';
      const r = await importCsv(
        ctx,
        business.id,
        [
          HEADER,
          `${phone},delivery,checked_box,2026-05-01T09:00:00Z,web,${text.hash},,,`,
          `+447700113002,delivery,checked_box,${T0},web,${text.hash},,,`,
          `${phone},billing,tapped_button,2026-05-02T09:00:00Z,app,${text.hash},,,`,
          `${phone},delivery,checked_box,2026-04-01T09:00:00Z,web,${text.hash},,,`, // older than the first: recorded, changes nothing
        ],
        { batchSize },
      );
      assert.equal(r.imported, 4);
      const evs = await eventsOf(db(), business.id, phone);
      assert.deepEqual(
        evs.map((e) => Number(e.seq)),
        [1, 2, 3],
      );
      assert.equal(evs[0]!.prev_hash, null);
      assert.equal(evs[1]!.prev_hash, evs[0]!.hash);
      assert.equal(evs[2]!.prev_hash, evs[1]!.hash);
      const person = await db()
        .db.selectFrom('people')
        .selectAll()
        .where('business_id', '=', business.id)
        .where('phone_e164', '=', phone)
        .executeTakeFirstOrThrow();
      assert.equal(Number(person.chain_seq), 3);
      assert.equal(person.chain_head, evs[2]!.hash);
      const states = await stateMap(db(), business.id);
      assert.equal(
        states[`${phone} delivery`],
        `opted_in@${Date.parse('2026-05-01T09:00:00Z')}`,
        'the late older row does not override',
      );
      assert.equal(states[`${phone} billing`], `opted_in@${Date.parse('2026-05-02T09:00:00Z')}`);
      assert.equal(
        (await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: business.id })).ok,
        true,
        `batch size ${batchSize}`,
      );
    }
  });

  it('an erased number is refused and not added back', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const phone = '+447700114001';
    const r0 = await webOptIn(ctx, business.id, text.hash, { phone });
    await erasePerson(ctx, business.id, r0.personId, { actor: 't' });
    const before = await counts(db(), business.id);
    const r = await importCsv(ctx, business.id, [
      HEADER,
      `07700 114001,delivery,checked_box,${T0},web,${text.hash},,,`,
    ]);
    assert.deepEqual(
      r.refused.map((x) => [x.row, x.code]),
      [[1, 'CONTACT_ERASED']],
    );
    assert.equal(r.imported, 0);
    assert.deepEqual(await counts(db(), business.id), before);
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone }, topic: 'delivery' })).reasons[0]?.code,
      'CONTACT_ERASED',
    );
  });

  it('gives the same state and verifiable chains as recording the same consents one by one', async () => {
    const ctx = testContext(db());
    const imported = await seedBusiness(ctx);
    const oneByOne = await seedBusiness(ctx);
    const day = (d: number, h = 9) => Date.UTC(2026, 3, d, h);
    // Some people are already known: one opted in by API, one said STOP (scope all) on 10 April.
    for (const b of [imported, oneByOne]) {
      await recordOptIn(ctx, b.business.id, {
        person: { phone: '+447700115001' },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: b.text.hash,
        evidence: webEvidence,
        actor: 't',
        occurredAt: day(3),
      });
      await recordOptOut(ctx, b.business.id, {
        person: { phone: '+447700115002' },
        scope: 'all',
        channel: 'whatsapp',
        action: 'sent_keyword',
        evidence: { messageId: 'wamid.1' },
        actor: 't',
        occurredAt: day(10),
      });
    }
    const rows: { phone: string; topics: string[]; action: string; at: number; channel: string }[] = [
      { phone: '+447700115001', topics: ['billing'], action: 'checked_box', at: day(4), channel: 'web' },
      { phone: '+447700115001', topics: ['delivery'], action: 'checked_box', at: day(2), channel: 'web' }, // older than the API opt-in
      { phone: '+447700115002', topics: ['delivery'], action: 'submitted_form', at: day(9), channel: 'web' }, // before the STOP: no effect
      { phone: '+447700115002', topics: ['billing'], action: 'submitted_form', at: day(11), channel: 'email' }, // after it: counts
      { phone: '+447700115003', topics: ['delivery', 'billing'], action: 'pressed_digit', at: day(5), channel: 'ivr' },
      { phone: '+447700115003', topics: ['delivery'], action: 'pressed_digit', at: day(5), channel: 'ivr' }, // same time: tie, nothing changes
      ...Array.from({ length: 12 }, (_, i) => ({
        phone: `+4477001151${String(i).padStart(2, '0')}`,
        topics: i % 2 ? ['delivery'] : ['billing', 'delivery'],
        action: 'checked_box',
        at: day(6, i),
        channel: 'app',
      })),
    ];
    const lines = [
      HEADER,
      ...rows.map(
        (r) =>
          `${r.phone},${r.topics.join(';')},${r.action},${new Date(r.at).toISOString()},${r.channel},${imported.text.hash},,198.51.100.1,`,
      ),
    ];
    const result = await importCsv(ctx, imported.business.id, lines, { batchSize: 5 });
    assert.equal(result.imported, rows.length);
    const fileHash = (
      JSON.parse((await eventsOf(db(), imported.business.id, '+447700115003'))[0]!.evidence!) as { fileHash: string }
    ).fileHash;

    for (const [i, r] of rows.entries()) {
      const keys = [...r.topics].sort();
      await recordOptIn(ctx, oneByOne.business.id, {
        person: { phone: r.phone },
        topics: r.topics,
        channel: 'import',
        action: r.action,
        textHash: oneByOne.text.hash,
        occurredAt: r.at,
        actor: 'test',
        sourceRef: importSourceRef(oneByOne.business.id, r.phone, keys, r.at, r.action, oneByOne.text.hash),
        evidence: { ip: '198.51.100.1', file: 'consents.csv', fileHash, row: i + 1, originalChannel: r.channel },
      });
    }
    assert.deepEqual(await stateMap(db(), imported.business.id), await stateMap(db(), oneByOne.business.id));
    for (const phone of new Set(rows.map((r) => r.phone))) {
      const shape = (es: Awaited<ReturnType<typeof eventsOf>>) =>
        es.map((e) => [
          Number(e.seq),
          e.type,
          e.scope,
          e.topic_keys,
          e.channel,
          e.action,
          Number(e.occurred_at),
          e.evidence_hash,
          e.prev_hash === null,
        ]);
      assert.deepEqual(
        shape(await eventsOf(db(), imported.business.id, phone)),
        shape(await eventsOf(db(), oneByOne.business.id, phone)),
        phone,
      );
    }
    assert.equal(
      (await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: imported.business.id })).ok,
      true,
    );
    assert.equal(
      (await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: oneByOne.business.id })).ok,
      true,
    );
    // And the gate reads both the same way.
    for (const phone of ['+447700115002', '+447700115003']) {
      for (const topic of ['delivery', 'billing']) {
        const a = await decideSend(ctx, imported.business.id, { person: { phone }, topic });
        const b = await decideSend(ctx, oneByOne.business.id, { person: { phone }, topic });
        assert.deepEqual(
          a.reasons.map((x) => x.code),
          b.reasons.map((x) => x.code),
          `${phone} ${topic}`,
        );
      }
    }
  });
});
