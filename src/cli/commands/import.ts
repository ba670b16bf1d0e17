import { stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CsvError } from 'csv-parse';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { AppError } from '../../domain/errors.js';
import type { ServiceContext } from '../../services/context.js';
import { importConsents, REQUIRED_COLUMNS, type ImportResult, type RefusedRow } from '../../services/import/import-consents.js';
import { hashFile } from '../../services/import/import-file.js';
import { importOptOuts, type OptOutFormat, type OptOutMapping } from '../../services/import/import-opt-outs.js';
import { resolveBusiness, runCommand, UserError, processIO, type CliIO } from '../run.js';

/**
 * `optline import <file.csv> --business <slug|id>`: bulk import of opt-ins collected elsewhere. The columns are
 * documented in services/import/import-row.ts; what an import records, in services/import/import-consents.ts. Exit codes:
 *   0  every row was imported or was already there (a re-run of the same file is a no-op),
 *   2  some rows were refused (counted by code, the first few printed; `--rejects file.csv` writes every one
 *      with its row number, code, column and reason); the others were imported, so fix those rows and run
 *      the file again,
 *   1  nothing could be done: missing file, unknown business, not a CSV, a required column missing.
 */

export interface ImportOptions {
  business: string;
  text?: string;
  defaultCountry?: string;
  batch?: number;
  json?: boolean;
  /** Queue a WhatsApp confirmation for each person whose consent the import changed (off unless given). */
  confirm?: boolean;
  /** Check and count everything, write nothing. */
  dryRun?: boolean;
  /** Where to write the refused rows as CSV (row, code, field, reason). */
  rejects?: string;
  /** The file is a list of opt-outs (suppression list): `true` finds the format from the header, or a format name. */
  optOuts?: boolean | string;
  /** For --opt-outs: the columns of a generic file, `phone=Phone,occurredAt=Date,status=State`. */
  map?: string;
}

/** Refused rows printed on the terminal; the rest are in the summary by code and the rejects file. */
const PRINTED_REFUSALS = 20;

export async function runImport(ctx: ServiceContext, file: string, opts: ImportOptions, io: CliIO): Promise<number> {
  let result: ImportResult;
  const fileName = basename(file);
  try {
    const size = (await stat(file).catch(() => null))?.size;
    if (size === undefined) throw new UserError(`cannot read ${file}: no such file`);
    const business = await resolveBusiness(ctx, opts.business);
    const fileHash = await hashFile(file);
    const progress = startProgress(io, opts, size);
    try {
      result = opts.optOuts ? await runOptOuts(ctx, business.id, file, fileName, fileHash, opts) : await importConsents(ctx, business.id, {
        file, fileName, fileHash, actor: `cli:import:${fileName}`, batchSize: opts.batch,
        ...(opts.text ? { defaultTextHash: opts.text } : {}),
        ...(opts.defaultCountry ? { defaultCountry: opts.defaultCountry.toUpperCase() } : {}),
        confirm: Boolean(opts.confirm), dryRun: Boolean(opts.dryRun),
        onProgress: (rows, bytes) => progress.update(bytes, rows),
      });
    } finally {
      progress.stop();
    }
  } catch (e) {
    io.err.write(`optline import: ${fatalMessage(e, fileName)}\n`);
    return 1;
  }
  if (opts.rejects) {
    try {
      await writeFile(opts.rejects, rejectsCsv(result.refused));
    } catch (e) {
      io.err.write(`optline import: cannot write the rejects file ${opts.rejects}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return 1;
    }
  }
  if (opts.json) {
    io.out.write(`${JSON.stringify({ file: fileName, ...result })}\n`);
  } else {
    io.out.write(summaryLine(fileName, result));
    const codes = Object.entries(result.refusedByCode).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (codes.length) io.out.write(`refused by code: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}\n`);
    for (const r of result.refused.slice(0, PRINTED_REFUSALS)) io.out.write(`row ${r.row}: ${r.code} (${r.field}): ${r.reason}\n`);
    const more = result.refused.length - PRINTED_REFUSALS;
    if (more > 0) io.out.write(`... and ${more} more refused row(s)${opts.rejects ? `, all in ${opts.rejects}` : '; --rejects file.csv writes every one'}\n`);
    else if (opts.rejects && result.refused.length) io.out.write(`refused rows written to ${opts.rejects}\n`);
  }
  return result.refused.length > 0 ? 2 : 0;
}

const OPT_OUT_FORMATS: readonly string[] = ['list', 'twilio', 'braze', 'mapped'];

/** `--opt-outs [format]`: the file is a STOP / suppression list; each row a ledger opt-out (import-opt-outs.ts). */
async function runOptOuts(ctx: ServiceContext, businessId: string, file: string, fileName: string, fileHash: string, opts: ImportOptions): Promise<ImportResult> {
  const format = typeof opts.optOuts === 'string' ? opts.optOuts : undefined;
  if (format !== undefined && !OPT_OUT_FORMATS.includes(format)) throw new UserError(`--opt-outs "${format}" is not a format: ${OPT_OUT_FORMATS.join(', ')}`);
  const map = opts.map ? parseMap(opts.map) : undefined;
  const r = await importOptOuts(ctx, businessId, {
    file, fileName, fileHash, actor: `cli:import:${fileName}`, dryRun: Boolean(opts.dryRun),
    ...(format ? { format: format as OptOutFormat } : {}), ...(map ? { map } : {}),
    ...(opts.defaultCountry ? { defaultCountry: opts.defaultCountry.toUpperCase() } : {}),
  });
  return { total: r.total, imported: r.imported, duplicates: r.duplicates, refused: r.refused, refusedByCode: r.refusedByCode, confirmations: 0, dryRun: r.dryRun };
}

function parseMap(spec: string): OptOutMapping {
  const pairs = spec.split(',').map((p) => p.split('=').map((x) => x.trim()));
  const m: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (!k || !v || !['phone', 'occurredAt', 'status'].includes(k)) throw new UserError(`--map "${spec}": give key=column pairs with keys phone, occurredAt, status (e.g. phone=Phone,occurredAt=Date)`);
    m[k] = v;
  }
  if (!m.phone) throw new UserError('--map needs phone=<column>');
  return m as unknown as OptOutMapping;
}

function summaryLine(fileName: string, r: ImportResult): string {
  const confirmations = `${r.confirmations} WhatsApp confirmation(s) ${r.dryRun ? 'would be ' : ''}queued`;
  if (r.dryRun) {
    return `${fileName} (dry run, nothing written): ${r.total} row(s): ${r.imported} would be imported, ${r.duplicates} already there, ${r.refused.length} refused; ${confirmations}\n`;
  }
  return `${fileName}: ${r.total} row(s): ${r.imported} imported, ${r.duplicates} already there, ${r.refused.length} refused; ${confirmations}\n`;
}

/** RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled. */
const csvCell = (v: string | number) => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function rejectsCsv(refused: readonly RefusedRow[]): string {
  return ['row,code,field,reason', ...refused.map((r) => [r.row, r.code, r.field, r.reason].map(csvCell).join(','))].join('\n') + '\n';
}

function fatalMessage(e: unknown, fileName: string): string {
  if (e instanceof UserError) return e.message;
  if (e instanceof CsvError) {
    return `${fileName} is not a CSV file this command can read: ${e.message}. Rows before that point were imported; fix the file and run it again (they will be skipped).`;
  }
  if (e instanceof AppError && e.problems[0]?.field === 'columns') return `${fileName}: ${e.message} The first line must name the columns, e.g. ${REQUIRED_COLUMNS.join(',')},text_hash.`;
  if (e instanceof AppError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'EISDIR' || err?.code === 'EACCES') return `cannot read ${fileName}: ${err.code === 'EISDIR' ? 'it is a directory' : 'permission denied'}`;
  return err instanceof Error ? err.message : String(e);
}

/** A bar on a terminal; a line every 100,000 rows in a log; nothing with --json (stdout is for the result). */
function startProgress(io: CliIO, opts: ImportOptions, bytes: number) {
  if (opts.json) return { update: () => {}, stop: () => {} };
  if (io.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'importing {bar} {percentage}% | {rows} rows | eta {eta_formatted}', stream: io.err as NodeJS.WriteStream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(bytes, 0, { rows: 0 });
    return { update: (read: number, rows: number) => bar.update(Math.min(read, bytes), { rows }), stop: () => bar.stop() };
  }
  let next = 100_000;
  return {
    update: (_read: number, rows: number) => {
      if (rows < next) return;
      io.err.write(`import: ${rows} rows handled\n`);
      next = (Math.floor(rows / 100_000) + 1) * 100_000;
    },
    stop: () => {},
  };
}

const batchSize = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 20_000) throw new InvalidArgumentError('a whole number from 1 to 20000');
  return n;
};

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Import opt-ins from a CSV file (columns: phone, topics, action, occurred_at, channel, text_hash, evidence_*)')
    .argument('<file>', 'the CSV file')
    .requiredOption('--business <slug|id>', 'the business the consents belong to')
    .option('--text <hash>', 'opt-in text hash for rows without a text_hash column')
    .option('--default-country <code>', 'country of numbers written without +country code, e.g. GB')
    .option('--batch <rows>', 'rows per transaction', batchSize, 2000)
    .option('--confirm', 'queue a WhatsApp confirmation for each person whose consent changed (off unless given)')
    .option('--dry-run', 'check every row and print what would happen (counts by outcome, confirmations); write nothing')
    .option('--rejects <file.csv>', 'write the refused rows (row, code, field, reason) to this CSV file')
    .option('--opt-outs [format]', 'the file is a STOP / suppression list (list, twilio, braze, mapped; found from the header when not given)')
    .option('--map <pairs>', 'with --opt-outs: columns of a generic file, e.g. phone=Phone,occurredAt=Date,status=State')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: ImportOptions) => {
      const io = processIO();
      process.exitCode = await runCommand('import', ({ ctx }) => runImport(ctx, file, opts, io), { io });
    });
}
