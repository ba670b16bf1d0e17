import { createHash } from 'node:crypto';
import { mkdtemp, rm, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, fail } from '../../domain/errors.js';
import { newId } from '../../lib/ids.js';
import {
  abandonImportJob,
  finishImportJob,
  getImportJob,
  importChunks,
  insertImportChunk,
  insertImportJob,
  queueImportJob,
  recordImportProgress,
  type ImportJobRow,
} from '../../storage/import/import-job-store.js';
import type { ServiceContext } from '../context.js';
import { checkImportOptions, importFile, type ImportOptions } from './run-import.js';
import { rejectsCsv } from './rejects-csv.js';

/**
 * Imports through the API and the console: the same import as `optline import` (importFile), run as a job. The
 * upload is stored in the database as it arrives (never whole in memory), then any serving process picks the job
 * up (worker/import/job-runner.ts), runs the import and records progress, counts and the refused rows. A job whose
 * process stopped is taken again when its lease runs out: re-running a file only counts what it already recorded
 * as duplicates. After MAX_ATTEMPTS starts it is failed, with the reason shown.
 */

export const IMPORT_CHUNK_BYTES = 1024 * 1024;
export const IMPORT_LEASE_MS = 60_000;
const MAX_ATTEMPTS = 3;

export interface ImportJobView {
  id: string;
  kind: string;
  status: 'receiving' | 'queued' | 'running' | 'done' | 'failed';
  fileName: string;
  fileBytes: number;
  bytesRead: number;
  rowsRead: number;
  options: ImportOptions;
  dryRun: boolean;
  counts: { imported: number; duplicates: number; refused: number; confirmations: number };
  refusedByCode: Record<string, number>;
  error: string | null;
  attempts: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export function toImportJobView(r: ImportJobRow): ImportJobView {
  const options = JSON.parse(r.options) as ImportOptions;
  return {
    id: r.id,
    kind: r.kind,
    status: r.status as ImportJobView['status'],
    fileName: r.file_name,
    fileBytes: Number(r.file_bytes),
    bytesRead: Number(r.bytes_read),
    rowsRead: Number(r.rows_read),
    options,
    dryRun: Boolean(options.dryRun),
    counts: {
      imported: Number(r.imported),
      duplicates: Number(r.duplicates),
      refused: Number(r.refused),
      confirmations: Number(r.confirmations),
    },
    refusedByCode: JSON.parse(r.refused_by_code) as Record<string, number>,
    error: r.error,
    attempts: r.attempts,
    createdAt: Number(r.created_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

export interface ReceiveImportInput {
  options: ImportOptions;
  fileName: string;
  actor: string;
  body: AsyncIterable<Buffer | string>;
  limitBytes: number;
}

/** Stores an upload as a queued job. Options are checked before a byte is read; a body over the limit is refused. */
export async function receiveImport(
  ctx: ServiceContext,
  businessId: string,
  input: ReceiveImportInput,
): Promise<ImportJobView> {
  checkImportOptions(input.options);
  const q = ctx.database.db;
  const id = newId('imp', ctx.clock.now());
  await insertImportJob(q, {
    businessId,
    id,
    kind: input.options.kind,
    options: { ...input.options },
    fileName: input.fileName,
    actor: input.actor,
    now: ctx.clock.now(),
  });
  const hash = createHash('sha256');
  let bytes = 0;
  let seq = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    await insertImportChunk(q, businessId, id, seq++, Buffer.concat(pending));
    pending = [];
    pendingBytes = 0;
  };
  try {
    for await (const part of input.body) {
      const b = typeof part === 'string' ? Buffer.from(part) : part;
      bytes += b.length;
      if (bytes > input.limitBytes) {
        fail(
          'BODY_TOO_LARGE',
          `The file is larger than the import limit of ${input.limitBytes} bytes (OPTLINE_IMPORT_BODY_LIMIT_BYTES).`,
          'body',
        );
      }
      hash.update(b);
      pending.push(b);
      pendingBytes += b.length;
      if (pendingBytes >= IMPORT_CHUNK_BYTES) await flush();
    }
    await flush();
    if (bytes === 0) fail('VALIDATION_FAILED', 'The body is empty: send the CSV file as the request body.', 'body');
  } catch (e) {
    const reason = e instanceof AppError ? e.message : 'The upload was cut off before the whole file arrived.';
    await abandonImportJob(q, businessId, id, reason, ctx.clock.now());
    throw e;
  }
  await queueImportJob(q, businessId, id, { hash: hash.digest('hex'), bytes }, ctx.clock.now());
  return toImportJobView((await getImportJob(q, businessId, id))!);
}

export async function getImportJobView(ctx: ServiceContext, businessId: string, id: string): Promise<ImportJobView> {
  const r = await getImportJob(ctx.database.db, businessId, id);
  return r ? toImportJobView(r) : fail('NOT_FOUND', 'No such import.', 'id');
}

/** The refused rows as CSV, once the job is done. */
export async function getImportRejects(ctx: ServiceContext, businessId: string, id: string): Promise<string> {
  const r = await getImportJob(ctx.database.db, businessId, id);
  if (!r) return fail('NOT_FOUND', 'No such import.', 'id');
  if (r.rejects_csv === null)
    return fail('CONFLICT', `The import is ${r.status}: its refused rows are ready once it is done.`, 'id');
  return r.rejects_csv;
}

/** Runs a claimed job to its end: done with its result and rejects, or failed with the reason. */
export async function runImportJob(ctx: ServiceContext, job: ImportJobRow): Promise<void> {
  const q = ctx.database.db;
  const zero = { imported: 0, duplicates: 0, refused: 0, confirmations: 0 };
  if (job.attempts > MAX_ATTEMPTS) {
    const error = `The import stopped ${MAX_ATTEMPTS} times before it finished (its process ended); upload the file again.`;
    await ctx.database.transaction((trx) =>
      finishImportJob(
        trx,
        job,
        {
          status: 'failed',
          counts: { rowsRead: Number(job.rows_read), bytesRead: Number(job.bytes_read), ...zero },
          refusedByCode: {},
          rejectsCsv: null,
          error,
        },
        ctx.clock.now(),
      ),
    );
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'optline-import-'));
  const file = join(dir, 'upload.csv');
  try {
    const fh = await open(file, 'w');
    try {
      for await (const c of importChunks(q, job.business_id, job.id)) await fh.write(c);
    } finally {
      await fh.close();
    }
    const options = JSON.parse(job.options) as ImportOptions;
    let rowsRead = 0;
    let bytesRead = 0;
    let last = Promise.resolve();
    const result = await importFile(ctx, job.business_id, {
      file,
      fileName: job.file_name,
      fileHash: job.file_hash ?? '',
      actor: job.actor,
      options,
      onProgress: (rows, bytes) => {
        rowsRead = rows;
        bytesRead = Math.max(bytesRead, bytes);
        // Written one after another (never two at once); a write that fails is logged, the import goes on.
        last = last
          .then(() => recordImportProgress(q, job, { rowsRead, bytesRead }, ctx.clock.now(), IMPORT_LEASE_MS))
          .catch((e: unknown) => ctx.logger.warn({ err: e, job: job.id }, 'import progress not recorded'));
      },
    });
    await last;
    await ctx.database.transaction((trx) =>
      finishImportJob(
        trx,
        job,
        {
          status: 'done',
          counts: {
            rowsRead: result.total,
            bytesRead: Number(job.file_bytes),
            imported: result.imported,
            duplicates: result.duplicates,
            refused: result.refused.length,
            confirmations: result.confirmations,
          },
          refusedByCode: result.refusedByCode as Record<string, number>,
          rejectsCsv: rejectsCsv(result.refused),
          error: null,
        },
        ctx.clock.now(),
      ),
    );
  } catch (e) {
    ctx.logger.warn({ err: e, job: job.id }, 'import failed');
    const error =
      e instanceof AppError
        ? e.message
        : `The import stopped: ${e instanceof Error ? e.message : String(e)}. Rows before that point were recorded; running the file again skips them.`;
    const cur = await getImportJob(q, job.business_id, job.id);
    await ctx.database.transaction((trx) =>
      finishImportJob(
        trx,
        job,
        {
          status: 'failed',
          counts: { rowsRead: Number(cur?.rows_read ?? 0), bytesRead: Number(cur?.bytes_read ?? 0), ...zero },
          refusedByCode: {},
          rejectsCsv: null,
          error,
        },
        ctx.clock.now(),
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
