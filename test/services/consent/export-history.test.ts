import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence } from '../../helpers/seed.js';
import type { ServiceContext } from '../../../src/services/context.js';
import {
  exportHistory,
  historyPages,
  safeCell,
  type ExportOptions,
  type HistoryEvent,
} from '../../../src/services/consent/export-history.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { erasePerson } from '../../../src/services/consent/erase-person.js';
import { sha256Hex } from '../../../src/lib/crypto.js';

const FORMULA = "=cmd|' /C calc'!A0";
const US = '+12025550143';
const UK = '+447911123456';

async function exported(
  ctx: ServiceContext,
  businessId: string,
  opts: ExportOptions,
): Promise<{ text: string; events: number }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const { events } = await exportHistory(ctx, businessId, out, opts);
  out.end();
  return { text: Buffer.concat(chunks).toString('utf8'), events };
}

/** A business with a US and a UK person; the UK person's opt-in was recorded by an actor named like a formula. */
async function seedLedger(ctx: ServiceContext & { clock: { advance(ms: number): void } }) {
  const seeded = await seedBusiness(ctx);
  const { business, text } = seeded;
  const base = { channel: 'web' as const, action: 'checked_box', textHash: text.hash, evidence: webEvidence };
  const us = await recordOptIn(ctx, business.id, {
    ...base,
    person: { phone: US },
    topics: ['delivery'],
    actor: 'api:key_1',
  });
  ctx.clock.advance(1000);
  const uk = await recordOptIn(ctx, business.id, {
    ...base,
    person: { phone: UK },
    topics: ['delivery', 'billing'],
    actor: FORMULA,
    evidence: { ...webEvidence, userAgent: '@SUM(1+1)' },
  });
  ctx.clock.advance(1000);
  await recordOptOut(ctx, business.id, {
    person: { phone: US },
    scope: 'all',
    channel: 'sms',
    action: 'sent_keyword',
    evidence: { messageId: 'SM1' },
    actor: '-1+1',
  });
  return { ...seeded, usId: us.personId, ukId: uk.personId };
}

forEachDialect('export history', (db) => {
  it('CSV: every event, with cells that a spreadsheet would run defused', async () => {
    const ctx = testContext(db());
    const { business, ukId } = await seedLedger(ctx);
    const { text, events } = await exported(ctx, business.id, { format: 'csv' });
    assert.equal(events, 3);
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 3);
    const uk = rows.find((r) => r.person_id === ukId)!;
    assert.equal(uk.actor, `'${FORMULA}`);
    assert.equal(uk.phone, `'${UK}`);
    assert.equal(rows[0]!.phone, `'${US}`);
    assert.equal(rows[2]!.actor, "'-1+1");
    assert.equal(uk.topics, 'billing;delivery');
    assert.equal(uk.occurred_at, new Date(Date.UTC(2026, 5, 1, 12, 0, 1)).toISOString());
    // The evidence stays JSON (it starts with "{"), and is byte for byte what its hash covers.
    assert.equal(JSON.parse(uk.evidence!).userAgent, '@SUM(1+1)');
    assert.equal(sha256Hex(uk.evidence!), uk.evidence_hash);
    assert.equal(rows[1]!.prev_hash, '', 'the first event of a person links to nothing');
    assert.equal(rows[2]!.prev_hash, rows[0]!.hash, "the US person's opt-out links to their opt-in");
    for (const r of rows) for (const v of Object.values(r)) assert.doesNotMatch(v, /^[=+\-@\t\r]/, `unsafe cell ${v}`);
  });

  it('JSON lines carry the values as they are', async () => {
    const ctx = testContext(db());
    const { business } = await seedLedger(ctx);
    const { text } = await exported(ctx, business.id, { format: 'json' });
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as HistoryEvent);
    assert.deepEqual(
      lines.map((e) => [e.phone, e.type]),
      [
        [US, 'opt_in'],
        [UK, 'opt_in'],
        [US, 'opt_out'],
      ],
    );
    assert.equal(lines[1]!.actor, FORMULA);
    assert.deepEqual(lines[1]!.topics, ['billing', 'delivery']);
  });

  it('pages through the ledger by keyset, and filters by time and person', async () => {
    const ctx = testContext(db());
    const { business, usId } = await seedLedger(ctx);
    const all: HistoryEvent[] = [];
    let pages = 0;
    for await (const page of historyPages(ctx, business.id, { pageSize: 2 })) {
      pages += 1;
      all.push(...page);
    }
    assert.equal(pages, 2);
    assert.deepEqual(
      all.map((e) => e.seq),
      [1, 1, 2],
    );
    assert.equal(new Set(all.map((e) => e.eventId)).size, 3);
    const since = (await exported(ctx, business.id, { format: 'json', since: Date.UTC(2026, 5, 1, 12, 0, 1) })).events;
    assert.equal(since, 2);
    const person = await exported(ctx, business.id, { format: 'json', personId: usId });
    assert.equal(person.events, 2);
    assert.ok(
      person.text
        .trim()
        .split('\n')
        .every((l) => (JSON.parse(l) as HistoryEvent).personId === usId),
    );
    assert.equal(
      (await exported(ctx, business.id, { format: 'csv', personId: 'per_none' })).text.trim(),
      'event_id,person_id,phone,seq,type,scope,topics,channel,action,occurred_at,recorded_at,text_hash,source_ref,actor,evidence,evidence_hash,prev_hash,hash',
    );
  });

  it('an erased person is exported without number or evidence', async () => {
    const ctx = testContext(db());
    const { business, usId } = await seedLedger(ctx);
    await erasePerson(ctx, business.id, usId, { actor: 'dpo' });
    const rows = parse((await exported(ctx, business.id, { format: 'csv', personId: usId })).text, {
      columns: true,
    }) as Record<string, string>[];
    assert.deepEqual(
      rows.map((r) => r.type),
      ['opt_in', 'opt_out', 'erased'],
    );
    assert.ok(rows.every((r) => r.phone === ''));
    assert.deepEqual(
      rows.map((r) => r.evidence === ''),
      [true, true, false],
      'only the erasure keeps its own (impersonal) evidence',
    );
  });
});

it('safeCell prefixes exactly the characters spreadsheets start formulas with', () => {
  assert.deepEqual(['=1', '+1', '-1', '@a', '\tx', '\rx', 'a=1', '', "'x", ' =1'].map(safeCell), [
    "'=1",
    "'+1",
    "'-1",
    "'@a",
    "'\tx",
    "'\rx",
    'a=1',
    '',
    "'x",
    ' =1',
  ]);
});
