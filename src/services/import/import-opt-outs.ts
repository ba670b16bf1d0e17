import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { AppError, fail } from '../../domain/errors.js';
import { sha256Hex } from '../../lib/crypto.js';
import { normalisePhone } from '../../lib/phone.js';
import type { ServiceContext } from '../context.js';
import { recordOptOut } from '../consent/record-opt-out.js';
import { findEventBySource } from '../../storage/consent/consent-store.js';
import type { RefusedRow } from './import-row.js';

/**
 * Import of opt-outs and suppression lists: a business's existing STOP list is the first thing a migration
 * must bring. Each row becomes a real ledger opt-out (scope `all`, channel `import`) through recordOptOut, so
 * the gate refuses the number afterwards, its open messages are cancelled, and its chain is the API's. The
 * time the person opted out is kept as the event's occurredAt (the projection orders by it), and the row, the
 * file and what the source said are kept as evidence. Re-running a file changes nothing: each row's
 * source_ref is derived from the business, the number and that time.
 *
 * Formats (`format`, or found from the header):
 *   list    one number per line, with or without a header (`phone`); no time: the import's own time is used.
 *   twilio  Twilio's consent records: contact_id (E.164), status (`opt-out` / `opt-in`), date_of_consent
 *           (ISO 8601), source, sender_id, correlation_id. Opt-in rows are refused: an opt-in needs its text.
 *   braze   a Braze subscription-group export: phone, subscription_state (or subscription_group_state:
 *           `unsubscribed` / `subscribed`), updated_at (or last_updated / time), subscription_group_id, external_id.
 *   mapped  any columns, named by `map`: { phone: 'Phone', occurredAt: 'Date', status?: 'State' }.
 */

export type OptOutFormat = 'list' | 'twilio' | 'braze' | 'mapped';

export interface OptOutMapping {
  phone: string;
  occurredAt?: string;
  /** A column whose value says opt-out (stop, opt-out, unsubscribed, ...) or not; absent: every row is one. */
  status?: string;
}

export interface OptOutImportInput {
  file: string;
  fileName: string;
  fileHash: string;
  actor: string;
  format?: OptOutFormat;
  map?: OptOutMapping;
  defaultCountry?: string;
  dryRun?: boolean;
  onProgress?: (rows: number) => void;
}

export interface OptOutImportResult {
  format: OptOutFormat;
  total: number;
  imported: number;
  duplicates: number;
  refused: RefusedRow[];
  refusedByCode: Partial<Record<RefusedRow['code'], number>>;
  dryRun: boolean;
}

const OPT_OUT_WORDS = new Set([
  'opt-out',
  'opt_out',
  'optout',
  'opted_out',
  'opted-out',
  'unsubscribed',
  'stop',
  'stopped',
  'suppressed',
  'blocked',
  'false',
  'no',
  '0',
]);
const OPT_IN_WORDS = new Set(['opt-in', 'opt_in', 'optin', 'opted_in', 'subscribed', 'start', 'true', 'yes', '1']);

interface Shape {
  format: OptOutFormat;
  phone: string;
  occurredAt?: string;
  status?: string;
  /** Columns kept in the evidence as the source gave them. */
  keep: string[];
}

/** Which format a header is, and where its columns are (names compared in lower case). */
export function shapeOf(header: string[], format?: OptOutFormat, map?: OptOutMapping): Shape {
  const has = (c: string) => header.includes(c);
  const pick = (...cs: string[]) => cs.find(has);
  const need = (c: string | undefined, what: string, f: OptOutFormat) =>
    c ?? fail('VALIDATION_FAILED', `The file has no ${what} column for the ${f} format.`, 'columns');
  const f: OptOutFormat =
    format ??
    (map
      ? 'mapped'
      : has('contact_id')
        ? 'twilio'
        : has('subscription_state') || has('subscription_group_state')
          ? 'braze'
          : 'list');
  if (f === 'twilio') {
    return {
      format: f,
      phone: need(pick('contact_id'), 'contact_id', f),
      occurredAt: pick('date_of_consent'),
      status: need(pick('status'), 'status', f),
      keep: ['source', 'sender_id', 'correlation_id'].filter(has),
    };
  }
  if (f === 'braze') {
    return {
      format: f,
      phone: need(pick('phone', 'phone_number'), 'phone', f),
      occurredAt: pick('updated_at', 'last_updated', 'time'),
      status: need(pick('subscription_state', 'subscription_group_state'), 'subscription_state', f),
      keep: ['subscription_group_id', 'external_id'].filter(has),
    };
  }
  if (f === 'mapped') {
    if (!map) return fail('VALIDATION_FAILED', 'The mapped format needs a column mapping (phone=<column>,...).', 'map');
    const col = (c: string | undefined, key: string) => {
      if (c === undefined) return undefined;
      if (!has(c.toLowerCase()))
        fail('VALIDATION_FAILED', `The mapping names a ${key} column "${c}" the file does not have.`, 'map');
      return c.toLowerCase();
    };
    return {
      format: f,
      phone: col(map.phone, 'phone')!,
      ...opt('occurredAt', col(map.occurredAt, 'occurredAt')),
      ...opt('status', col(map.status, 'status')),
      keep: [],
    };
  }
  return { format: 'list', phone: pick('phone', 'phone_number', 'number', 'msisdn') ?? header[0] ?? 'phone', keep: [] };
}

const opt = <K extends string>(k: K, v: string | undefined) =>
  v === undefined ? {} : ({ [k]: v } as Record<K, string>);

/** A list of numbers may have no header: its first line is then a number, not a column name. */
function headerless(first: string[], format?: OptOutFormat): boolean {
  return (format === undefined || format === 'list') && first.length === 1 && /\d{6,}/.test(first[0]!);
}

export function optOutSourceRef(businessId: string, e164: string, occurredAt: number | null): string {
  return `import-opt-out:${sha256Hex(JSON.stringify([businessId, e164, occurredAt]))}`;
}

export async function importOptOuts(
  ctx: ServiceContext,
  businessId: string,
  input: OptOutImportInput,
): Promise<OptOutImportResult> {
  const parser = createReadStream(input.file).pipe(
    parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true }),
  );
  let shape: Shape | null = null;
  let header: string[] = [];
  const result: OptOutImportResult = {
    format: 'list',
    total: 0,
    imported: 0,
    duplicates: 0,
    refused: [],
    refusedByCode: {},
    dryRun: Boolean(input.dryRun),
  };
  const seen = new Set<string>();
  const now = ctx.clock.now();
  const refuse = (row: number, code: RefusedRow['code'], field: string, reason: string) =>
    result.refused.push({ row, code, field, reason });
  for await (const cells of parser as AsyncIterable<string[]>) {
    if (!shape) {
      const lower = cells.map((c) => c.trim().toLowerCase());
      if (headerless(cells, input.format)) header = ['phone'];
      else {
        header = lower;
        shape = shapeOf(header, input.format, input.map);
        result.format = shape.format;
        continue;
      }
      shape = shapeOf(header, input.format, input.map);
      result.format = shape.format;
    }
    const row = ++result.total;
    const rec: Record<string, string> = {};
    header.forEach((h, i) => (rec[h] = cells[i]?.trim() ?? ''));
    const raw = rec[shape.phone] ?? '';
    const phone = normalisePhone(raw, input.defaultCountry);
    if (!phone.ok) {
      refuse(row, 'INVALID_PHONE', 'phone', `"${raw}" is not a usable phone number: ${phone.reason}.`);
      continue;
    }
    if (shape.status) {
      const s = (rec[shape.status] ?? '').toLowerCase();
      if (OPT_IN_WORDS.has(s)) {
        refuse(
          row,
          'VALIDATION_FAILED',
          shape.status,
          `"${s}" is an opt-in: import opt-ins with their consent columns and text, not as an opt-out list.`,
        );
        continue;
      }
      if (!OPT_OUT_WORDS.has(s)) {
        refuse(
          row,
          'VALIDATION_FAILED',
          shape.status,
          `"${s}" does not say opt-out (e.g. opt-out, unsubscribed, stop).`,
        );
        continue;
      }
    }
    let occurredAt: number | null = null;
    const rawTime = shape.occurredAt ? (rec[shape.occurredAt] ?? '') : '';
    if (rawTime) {
      const t = Date.parse(rawTime);
      if (Number.isNaN(t) || !/(Z|[+-]\d{2}:?\d{2})$/i.test(rawTime)) {
        refuse(
          row,
          'VALIDATION_FAILED',
          shape.occurredAt!,
          `"${rawTime}" is not an ISO 8601 date-time with a time zone (for example 2026-03-01T09:30:00Z).`,
        );
        continue;
      }
      if (t > now + 5 * 60_000) {
        refuse(row, 'VALIDATION_FAILED', shape.occurredAt!, 'The opt-out time is in the future.');
        continue;
      }
      occurredAt = t;
    }
    const sourceRef = optOutSourceRef(businessId, phone.e164, occurredAt);
    if (seen.has(sourceRef)) {
      result.duplicates += 1;
      continue;
    }
    seen.add(sourceRef);
    const evidence: Record<string, unknown> = { format: shape.format, ...(rawTime ? {} : { timeGiven: false }) };
    for (const k of shape.keep)
      if (rec[k]) evidence[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = rec[k];
    if (shape.status) evidence.sourceStatus = rec[shape.status];
    evidence.file = input.fileName;
    evidence.fileHash = input.fileHash;
    evidence.row = row;
    if (input.dryRun) {
      if (await findEventBySource(ctx.database.db, businessId, sourceRef)) result.duplicates += 1;
      else result.imported += 1;
      continue;
    }
    try {
      const r = await recordOptOut(ctx, businessId, {
        person: { phone: phone.e164 },
        scope: 'all',
        channel: 'import',
        action: shape.format === 'twilio' || shape.format === 'braze' ? 'provider_report' : 'staff_request',
        ...(occurredAt !== null ? { occurredAt } : {}),
        evidence,
        sourceRef,
        actor: input.actor,
      });
      if (r.duplicate) result.duplicates += 1;
      else result.imported += 1;
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      refuse(row, e.code, 'phone', e.message);
    }
    if (row % 1000 === 0) input.onProgress?.(row);
  }
  for (const r of result.refused) result.refusedByCode[r.code] = (result.refusedByCode[r.code] ?? 0) + 1;
  return result;
}
