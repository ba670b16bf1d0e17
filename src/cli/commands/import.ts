import { stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CsvError } from 'csv-parse';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { AppError } from '../../domain/errors.js';
import type { ServiceContext } from '../../services/context.js';
import { loadConfig } from '../../config.js';
import { REQUIRED_COLUMNS, type ImportResult } from '../../services/import/import-consents.js';
import { hashFile } from '../../services/import/import-file.js';
import { importFile, type ImportOptions as ServiceImportOptions } from '../../services/import/run-import.js';
import { rejectsCsv } from '../../services/import/rejects-csv.js';
import { withBusyRetry } from '../../storage/sqlite/busy-retry.js';
import { resolveBusiness, runCommand, UserError, processIO, type CliIO } from '../run.js';
import { printReport, reported } from './import-report.js';
import { runRemoteImport } from './import-remote.js';

export { rejectsCsv };

/**
 * `optline import <file.csv> --business <slug|id>`: bulk import of opt-ins collected elsewhere. The columns are
 * documented in services/import/import-row.ts; what an import records, in services/import/import-consents.ts. Exit
 * codes:
 *   0  every row was imported or was already there (a re-run of the same file is a no-op),
 *   2  some rows were refused (counted by code, the first few printed; `--rejects file.csv` writes every one
 *      with its row number, code, column and reason); the others were imported, so fix those rows and run
 *      the file again,
 *   1  nothing could be done: missing file, unknown business, not a CSV, a required column missing.
 */

export interface ImportOptions {
  /** Required for a local import; with --server the business is the key's. */
  business?: string;
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
  /** A running Optline to send the file to (or OPTLINE_SERVER_URL), with --key (or OPTLINE_API_KEY). */
  server?: string;
  key?: string;
}

/** The flags as the one option shape every way in shares (services/import/run-import.ts). */
export function serviceOptions(opts: ImportOptions): ServiceImportOptions {
  return {
    kind: opts.optOuts ? 'opt-outs' : 'consents',
    ...(typeof opts.optOuts === 'string' ? { format: opts.optOuts } : {}),
    ...(opts.map ? { map: opts.map } : {}),
    ...(opts.confirm ? { confirm: true } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(opts.defaultCountry ? { defaultCountry: opts.defaultCountry } : {}),
    ...(opts.text ? { text: opts.text } : {}),
    ...(opts.batch ? { batch: opts.batch } : {}),
  };
}

export async function runImport(ctx: ServiceContext, file: string, opts: ImportOptions, io: CliIO): Promise<number> {
  let result: ImportResult;
  const fileName = basename(file);
  let committed = 0;
  try {
    const size = (await stat(file).catch(() => null))?.size;
    if (size === undefined) throw new UserError(`cannot read ${file}: no such file`);
    if (!opts.business)
      throw new UserError('--business <slug|id> is needed (or --server and --key to import through a running Optline)');
    const business = await resolveBusiness(ctx, opts.business);
    const fileHash = await hashFile(file);
    const progress = startProgress(io, opts, size);
    // On SQLite a running server may hold the write lock: a batch that finds it taken is rolled back and run again
    // after a pause (never half-written), and the user is told once that the import is waiting its turn.
    let told = false;
    const database = withBusyRetry(ctx.database, {
      onWait: () => {
        if (!told && !opts.json)
          io.err.write('import: the database is busy (another Optline process is writing); waiting for it\n');
        told = true;
      },
    });
    try {
      result = await importFile({ ...ctx, database }, business.id, {
        file,
        fileName,
        fileHash,
        actor: `cli:import:${fileName}`,
        options: serviceOptions(opts),
        onProgress: (rows, bytes) => {
          committed = rows;
          progress.update(bytes, rows);
        },
      });
    } finally {
      progress.stop();
    }
  } catch (e) {
    io.err.write(`optline import: ${fatalMessage(e, fileName)}\n`);
    // Batches commit one by one: say so rather than leave a half-imported file unmentioned.
    if (committed > 0 && !(e instanceof CsvError)) {
      io.err.write(
        `optline import: the first ${committed} rows were recorded before it stopped; running the file again skips them\n`,
      );
    }
    return 1;
  }
  if (opts.rejects) {
    try {
      await writeFile(opts.rejects, rejectsCsv(result.refused));
    } catch (e) {
      io.err.write(
        `optline import: cannot write the rejects file ${opts.rejects}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`,
      );
      return 1;
    }
  }
  if (opts.json) io.out.write(`${JSON.stringify({ file: fileName, ...result })}\n`);
  else printReport(io, fileName, reported(result), opts.rejects);
  return result.refused.length > 0 ? 2 : 0;
}

function fatalMessage(e: unknown, fileName: string): string {
  if (e instanceof UserError) return e.message;
  if (e instanceof CsvError) {
    return `${fileName} is not a CSV file this command can read: ${e.message}. Rows before that point were imported; fix the file and run it again (they will be skipped).`;
  }
  if (e instanceof AppError && e.problems[0]?.field === 'columns')
    return `${fileName}: ${e.message} The first line must name the columns, e.g. ${REQUIRED_COLUMNS.join(',')},text_hash.`;
  if (e instanceof AppError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'EISDIR' || err?.code === 'EACCES')
    return `cannot read ${fileName}: ${err.code === 'EISDIR' ? 'it is a directory' : 'permission denied'}`;
  return err instanceof Error ? err.message : String(e);
}

/** A bar on a terminal; a line every 100,000 rows in a log; nothing with --json (stdout is for the result). */
function startProgress(io: CliIO, opts: ImportOptions, bytes: number) {
  if (opts.json) return { update: () => {}, stop: () => {} };
  if (io.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: 'importing {bar} {percentage}% | {rows} rows | eta {eta_formatted}',
        stream: io.err as NodeJS.WriteStream,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(bytes, 0, { rows: 0 });
    return {
      update: (read: number, rows: number) => bar.update(Math.min(read, bytes), { rows }),
      stop: () => bar.stop(),
    };
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
    .description(
      'Import opt-ins from a CSV file (columns: phone, topics, action, occurred_at, channel, text_hash, evidence_*)',
    )
    .argument('<file>', 'the CSV file')
    .option('--business <slug|id>', 'the business the consents belong to (not with --server: the key names it)')
    .option('--text <hash>', 'opt-in text hash for rows without a text_hash column')
    .option('--default-country <code>', 'country of numbers written without +country code, e.g. GB')
    .option('--batch <rows>', 'rows per transaction', batchSize, 2000)
    .option('--confirm', 'queue a WhatsApp confirmation for each person whose consent changed (off unless given)')
    .option(
      '--dry-run',
      'check every row and print what would happen (counts by outcome, confirmations); write nothing',
    )
    .option('--rejects <file.csv>', 'write the refused rows (row, code, field, reason) to this CSV file')
    .option(
      '--opt-outs [format]',
      'the file is a STOP / suppression list (list, twilio, braze, mapped; found from the header when not given)',
    )
    .option(
      '--map <pairs>',
      'with --opt-outs: columns of a generic file, e.g. phone=Phone,occurredAt=Date,status=State',
    )
    .option('--json', 'print the result as JSON')
    .option(
      '--server <url>',
      'send the file to this running Optline (default OPTLINE_SERVER_URL) and follow its progress',
    )
    .option('--key <key>', 'with --server: a business key with the write role (default OPTLINE_API_KEY)')
    .action(async (file: string, opts: ImportOptions) => {
      const io = processIO();
      const config = loadConfig();
      const server = opts.server ?? config.client.serverUrl;
      if (server) {
        const key = opts.key ?? config.client.apiKey;
        if (!key) {
          io.err.write(
            'optline import: --server needs --key <olk_…> (or OPTLINE_API_KEY): the business key to import with\n',
          );
          process.exitCode = 1;
          return;
        }
        const remote = {
          server,
          key,
          options: serviceOptions(opts),
          ...(opts.rejects ? { rejects: opts.rejects } : {}),
          ...(opts.json ? { json: true } : {}),
        };
        process.exitCode = await runRemoteImport(file, remote, io);
        return;
      }
      process.exitCode = await runCommand('import', ({ ctx }) => runImport(ctx, file, opts, io), { io });
    });
}
