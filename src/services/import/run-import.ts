import { fail } from '../../domain/errors.js';
import type { ServiceContext } from '../context.js';
import { importConsents, type ImportResult } from './import-consents.js';
import { importOptOuts, type OptOutFormat, type OptOutMapping } from './import-opt-outs.js';

/**
 * The import's options, one shape for every way in: `optline import` flags, POST /v1/imports query parameters
 * and the console's form all end here, so an option means the same thing everywhere.
 */
export interface ImportOptions {
  /** consents (opt-ins, the default) or opt-outs (a STOP / suppression list). */
  kind: 'consents' | 'opt-outs';
  /** Queue a WhatsApp confirmation for each person whose consent changed (consents only; off unless given). */
  confirm?: boolean;
  /** Check and count everything, write nothing. */
  dryRun?: boolean;
  /** Country of numbers written without +country code, e.g. GB. */
  defaultCountry?: string;
  /** Opt-in text hash for rows without a text_hash column (consents). */
  text?: string;
  /** Opt-out file format (list, twilio, braze, mapped); found from the header when absent. */
  format?: string;
  /** Opt-out columns of a generic file: `phone=Phone,occurredAt=Date,status=State`. */
  map?: string;
  /** Rows per transaction (consents). */
  batch?: number;
}

export const OPT_OUT_FORMATS: readonly OptOutFormat[] = ['list', 'twilio', 'braze', 'mapped'];

/** Checks options before any byte is read; the error names the option. */
export function checkImportOptions(o: ImportOptions): { format?: OptOutFormat; map?: OptOutMapping } {
  if (o.kind !== 'consents' && o.kind !== 'opt-outs')
    fail('VALIDATION_FAILED', 'kind must be consents or opt-outs.', 'kind');
  if (o.defaultCountry !== undefined && !/^[A-Za-z]{2}$/.test(o.defaultCountry)) {
    fail('VALIDATION_FAILED', 'defaultCountry must be a two-letter country code, e.g. GB.', 'defaultCountry');
  }
  if (o.kind === 'consents' && (o.format !== undefined || o.map !== undefined)) {
    fail(
      'VALIDATION_FAILED',
      'format and map are options of an opt-out import (kind opt-outs).',
      o.format !== undefined ? 'format' : 'map',
    );
  }
  if (o.format !== undefined && !OPT_OUT_FORMATS.includes(o.format as OptOutFormat)) {
    fail('VALIDATION_FAILED', `format "${o.format}" is not a format: ${OPT_OUT_FORMATS.join(', ')}.`, 'format');
  }
  return { ...(o.format ? { format: o.format as OptOutFormat } : {}), ...(o.map ? { map: parseMap(o.map) } : {}) };
}

export function parseMap(spec: string): OptOutMapping {
  const m: Record<string, string> = {};
  for (const [k, v] of spec.split(',').map((p) => p.split('=').map((x) => x.trim()))) {
    if (!k || !v || !['phone', 'occurredAt', 'status'].includes(k)) {
      return fail(
        'VALIDATION_FAILED',
        `map "${spec}": give key=column pairs with keys phone, occurredAt, status (e.g. phone=Phone,occurredAt=Date).`,
        'map',
      );
    }
    m[k] = v;
  }
  if (!m.phone) fail('VALIDATION_FAILED', 'map needs phone=<column>.', 'map');
  return m as unknown as OptOutMapping;
}

export interface ImportFileInput {
  file: string;
  fileName: string;
  fileHash: string;
  actor: string;
  options: ImportOptions;
  /** After each committed batch: rows handled and bytes of the file read so far. */
  onProgress?: (rows: number, bytesRead: number) => void;
}

/** Imports one CSV file with the given options: importConsents or importOptOuts, one result shape. */
export async function importFile(
  ctx: ServiceContext,
  businessId: string,
  input: ImportFileInput,
): Promise<ImportResult> {
  const o = input.options;
  const { format, map } = checkImportOptions(o);
  const country = o.defaultCountry ? { defaultCountry: o.defaultCountry.toUpperCase() } : {};
  const { file, fileName, fileHash, actor } = input;
  if (o.kind === 'opt-outs') {
    const r = await importOptOuts(ctx, businessId, {
      file,
      fileName,
      fileHash,
      actor,
      dryRun: Boolean(o.dryRun),
      ...(format ? { format } : {}),
      ...(map ? { map } : {}),
      ...country,
      ...(input.onProgress ? { onProgress: (rows: number) => input.onProgress!(rows, 0) } : {}),
    });
    return {
      total: r.total,
      imported: r.imported,
      duplicates: r.duplicates,
      refused: r.refused,
      refusedByCode: r.refusedByCode,
      confirmations: 0,
      dryRun: r.dryRun,
    };
  }
  return importConsents(ctx, businessId, {
    file,
    fileName,
    fileHash,
    actor,
    ...country,
    ...(o.batch ? { batchSize: o.batch } : {}),
    ...(o.text ? { defaultTextHash: o.text } : {}),
    confirm: Boolean(o.confirm),
    dryRun: Boolean(o.dryRun),
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
}
