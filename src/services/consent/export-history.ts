import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import type { ServiceContext } from '../context.js';
import { parseJson } from '../../storage/json.js';

/**
 * Streams a business's consent ledger (optionally since a time, optionally one person) as CSV or JSON lines,
 * oldest first, one page of the ledger at a time (keyset pagination), so memory stays
 * flat however many millions of events there are.
 *
 * Each event carries what is needed to re-check its hash (see exportProof's howToVerify): the chained fields,
 * the evidence and its hash, and the person's phone number (empty once the person was erased).
 *
 * CSV is made safe to open in a spreadsheet: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
 * return would be run as a formula, so it gets a leading `'`. Phone numbers start with `+`, so in CSV they
 * read `'+447911123456`: a spreadsheet shows the number as text (without the `'`, it would either run it or
 * turn it into a number and drop the `+`); strip the leading `'` to get E.164 back. JSON lines are not
 * escaped: they carry the values exactly.
 */

export type ExportFormat = 'csv' | 'json';

export interface ExportOptions {
  format: ExportFormat;
  /** Only events recorded at or after this time (epoch ms): an incremental export. */
  since?: number;
  personId?: string;
  pageSize?: number;
}

export const EXPORT_COLUMNS = [
  'event_id',
  'person_id',
  'phone',
  'seq',
  'type',
  'scope',
  'topics',
  'channel',
  'action',
  'occurred_at',
  'recorded_at',
  'text_hash',
  'source_ref',
  'actor',
  'evidence',
  'evidence_hash',
  'prev_hash',
  'hash',
] as const;

export interface HistoryEvent {
  eventId: string;
  personId: string;
  phone: string | null;
  seq: number;
  type: string;
  scope: string;
  topics: string[];
  channel: string;
  action: string;
  occurredAt: string;
  recordedAt: string;
  textHash: string | null;
  sourceRef: string | null;
  actor: string;
  evidence: Record<string, unknown> | null;
  evidenceHash: string;
  prevHash: string | null;
  hash: string;
}

/**
 * The ledger page by page, in (recorded_at, person_id, seq) order: unique within a business, and events of
 * one person recorded in the same millisecond still come out in chain order.
 */
export async function* historyPages(
  ctx: ServiceContext,
  businessId: string,
  opts: Omit<ExportOptions, 'format'> = {},
): AsyncGenerator<HistoryEvent[]> {
  const q = ctx.database.db;
  let after: { at: number; personId: string; seq: number } | null = null;
  for (;;) {
    let sel = q
      .selectFrom('consent_events as e')
      .leftJoin('people as p', (j) => j.onRef('p.business_id', '=', 'e.business_id').onRef('p.id', '=', 'e.person_id'))
      .leftJoin('consent_evidence as v', (j) =>
        j.onRef('v.business_id', '=', 'e.business_id').onRef('v.event_id', '=', 'e.id'),
      )
      .selectAll('e')
      .select(['p.phone_e164', 'v.evidence'])
      .where('e.business_id', '=', businessId)
      .orderBy('e.recorded_at')
      .orderBy('e.person_id')
      .orderBy('e.seq')
      .limit(opts.pageSize ?? 1000);
    if (opts.personId) sel = sel.where('e.person_id', '=', opts.personId);
    if (opts.since !== undefined) sel = sel.where('e.recorded_at', '>=', opts.since);
    if (after) {
      const a = after;
      // The first condition alone bounds the index range; the second skips what the last page already gave.
      sel = sel
        .where('e.recorded_at', '>=', a.at)
        .where((eb) =>
          eb.or([
            eb('e.recorded_at', '>', a.at),
            eb('e.person_id', '>', a.personId),
            eb.and([eb('e.person_id', '=', a.personId), eb('e.seq', '>', a.seq)]),
          ]),
        );
    }
    const rows = await sel.execute();
    if (rows.length === 0) return;
    yield rows.map((r) => ({
      eventId: r.id,
      personId: r.person_id,
      phone: r.phone_e164 ?? null,
      seq: Number(r.seq),
      type: r.type,
      scope: r.scope,
      topics: parseJson<string[]>(r.topic_keys, []),
      channel: r.channel,
      action: r.action,
      occurredAt: new Date(Number(r.occurred_at)).toISOString(),
      recordedAt: new Date(Number(r.recorded_at)).toISOString(),
      textHash: r.text_hash,
      sourceRef: r.source_ref,
      actor: r.actor,
      evidence:
        r.evidence === null || r.evidence === undefined ? null : parseJson<Record<string, unknown>>(r.evidence, {}),
      evidenceHash: r.evidence_hash,
      prevHash: r.prev_hash,
      hash: r.hash,
    }));
    const last = rows[rows.length - 1]!;
    after = { at: Number(last.recorded_at), personId: last.person_id, seq: Number(last.seq) };
    if (rows.length < (opts.pageSize ?? 1000)) return;
  }
}

/** Writes the export to `out` (waiting for it to drain), and returns how many events it holds. */
export async function exportHistory(
  ctx: ServiceContext,
  businessId: string,
  out: NodeJS.WritableStream,
  opts: ExportOptions,
): Promise<{ events: number }> {
  let events = 0;
  if (opts.format === 'csv') await write(out, stringify([[...EXPORT_COLUMNS]]));
  for await (const page of historyPages(ctx, businessId, opts)) {
    events += page.length;
    await write(
      out,
      opts.format === 'csv' ? stringify(page.map(csvRow)) : page.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
  }
  return { events };
}

function csvRow(e: HistoryEvent): string[] {
  return [
    e.eventId,
    e.personId,
    e.phone ?? '',
    String(e.seq),
    e.type,
    e.scope,
    e.topics.join(';'),
    e.channel,
    e.action,
    e.occurredAt,
    e.recordedAt,
    e.textHash ?? '',
    e.sourceRef ?? '',
    e.actor,
    e.evidence === null ? '' : JSON.stringify(e.evidence),
    e.evidenceHash,
    e.prevHash ?? '',
    e.hash,
  ].map(safeCell);
}

/** Defuses spreadsheet formulas (CSV injection): see the note at the top of this file. */
export function safeCell(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

async function write(out: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out as NodeJS.EventEmitter, 'drain');
}
