import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CsvError } from 'csv-parse';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { AppError } from '../../domain/errors.js';
import type { ServiceContext } from '../../services/context.js';
import { importConsents, REQUIRED_COLUMNS, type ImportResult } from '../../services/import/import-consents.js';
import { hashFile } from '../../services/import/import-file.js';
import { resolveBusiness, runCommand, UserError, processIO, type CliIO } from '../run.js';

/**
 * `optline import <file.csv> --business <slug|id>`: bulk import of opt-ins collected elsewhere. The columns are
 * documented in services/import/import-row.ts; what an import records, in services/import/import-consents.ts. Exit codes:
 *   0  every row was imported or was already there (a re-run of the same file is a no-op),
 *   2  some rows were refused (each is printed with its row number, code, column and reason); the others
 *      were imported, so fix those rows and run the file again,
 *   1  nothing could be done: missing file, unknown business, not a CSV, a required column missing.
 */

export interface ImportOptions {
  business: string;
  text?: string;
  defaultCountry?: string;
  batch?: number;
  json?: boolean;
}

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
      result = await importConsents(ctx, business.id, {
        file, fileName, fileHash, actor: `cli:import:${fileName}`, batchSize: opts.batch,
        ...(opts.text ? { defaultTextHash: opts.text } : {}),
        ...(opts.defaultCountry ? { defaultCountry: opts.defaultCountry.toUpperCase() } : {}),
        onProgress: (rows, bytes) => progress.update(bytes, rows),
      });
    } finally {
      progress.stop();
    }
  } catch (e) {
    io.err.write(`optline import: ${fatalMessage(e, fileName)}\n`);
    return 1;
  }
  if (opts.json) {
    io.out.write(`${JSON.stringify({ file: fileName, ...result })}\n`);
  } else {
    io.out.write(`${fileName}: ${result.total} row(s): ${result.imported} imported, ${result.duplicates} already there, ${result.refused.length} refused\n`);
    for (const r of result.refused) io.out.write(`row ${r.row}: ${r.code} (${r.field}): ${r.reason}\n`);
  }
  return result.refused.length > 0 ? 2 : 0;
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
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: ImportOptions) => {
      const io = processIO();
      process.exitCode = await runCommand('import', ({ ctx }) => runImport(ctx, file, opts, io), { io });
    });
}
