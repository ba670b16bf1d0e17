import type { Kysely, Selectable } from 'kysely';
import type { DB, ImportJobsTable } from '../schema.js';

/** The rows of an import through the API (migration 0016): the job, and the uploaded file in chunks. */

export type ImportJobRow = Selectable<ImportJobsTable>;

export interface NewImportJob {
  businessId: string;
  id: string;
  kind: string;
  options: Record<string, unknown>;
  fileName: string;
  actor: string;
  now: number;
}

/** The job row, written before the upload is read: it is `receiving` until the whole file is stored. */
export async function insertImportJob(q: Kysely<DB>, j: NewImportJob): Promise<void> {
  await q
    .insertInto('import_jobs')
    .values({
      business_id: j.businessId,
      id: j.id,
      kind: j.kind,
      options: JSON.stringify(j.options),
      status: 'receiving',
      file_name: j.fileName,
      file_hash: null,
      file_bytes: 0,
      rows_read: 0,
      bytes_read: 0,
      imported: 0,
      duplicates: 0,
      refused: 0,
      confirmations: 0,
      refused_by_code: '{}',
      rejects_csv: null,
      error: null,
      attempts: 0,
      lease_until: null,
      actor: j.actor,
      created_at: j.now,
      started_at: null,
      finished_at: null,
      updated_at: j.now,
    })
    .execute();
}

export async function insertImportChunk(
  q: Kysely<DB>,
  businessId: string,
  jobId: string,
  seq: number,
  data: Buffer,
): Promise<void> {
  await q
    .insertInto('import_job_chunks')
    .values({ business_id: businessId, job_id: jobId, seq, data: data.toString('base64') })
    .execute();
}

/** The upload is complete: the job may be picked up. */
export async function queueImportJob(
  q: Kysely<DB>,
  businessId: string,
  id: string,
  file: { hash: string; bytes: number },
  now: number,
): Promise<void> {
  await q
    .updateTable('import_jobs')
    .set({ status: 'queued', file_hash: file.hash, file_bytes: file.bytes, updated_at: now })
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
}

export async function getImportJob(q: Kysely<DB>, businessId: string, id: string): Promise<ImportJobRow | undefined> {
  return q
    .selectFrom('import_jobs')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function* importChunks(q: Kysely<DB>, businessId: string, jobId: string): AsyncGenerator<Buffer> {
  // One chunk per query: a file of many megabytes is never held in memory whole.
  for (let seq = 0; ; seq++) {
    const c = await q
      .selectFrom('import_job_chunks')
      .select('data')
      .where('business_id', '=', businessId)
      .where('job_id', '=', jobId)
      .where('seq', '=', seq)
      .executeTakeFirst();
    if (!c) return;
    yield Buffer.from(c.data, 'base64');
  }
}

/**
 * Takes the oldest job that is queued, or running under a lease that ran out (its process stopped), for this
 * process: a conditional update on the status and lease it was read with, so two processes never take one job.
 */
export async function claimImportJob(q: Kysely<DB>, now: number, leaseMs: number): Promise<ImportJobRow | null> {
  const candidates = await q
    .selectFrom('import_jobs')
    .selectAll()
    .where((eb) =>
      eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]),
    )
    .orderBy('created_at')
    .limit(5)
    .execute();
  for (const c of candidates) {
    const r = await q
      .updateTable('import_jobs')
      .set({
        status: 'running',
        lease_until: now + leaseMs,
        attempts: c.attempts + 1,
        started_at: c.started_at ?? now,
        updated_at: now,
      })
      .where('business_id', '=', c.business_id)
      .where('id', '=', c.id)
      .where('status', '=', c.status)
      .where('attempts', '=', c.attempts)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1)
      return { ...c, status: 'running', attempts: c.attempts + 1, lease_until: now + leaseMs };
  }
  return null;
}

export interface ImportCounts {
  rowsRead: number;
  bytesRead: number;
  imported?: number;
  duplicates?: number;
  refused?: number;
  confirmations?: number;
}

/** Progress of a running job; renews its lease. Guarded by the attempt, so a run that lost its job writes nothing. */
export async function recordImportProgress(
  q: Kysely<DB>,
  job: ImportJobRow,
  c: ImportCounts,
  now: number,
  leaseMs: number,
): Promise<void> {
  await q
    .updateTable('import_jobs')
    .set({
      rows_read: c.rowsRead,
      bytes_read: c.bytesRead,
      lease_until: now + leaseMs,
      updated_at: now,
      ...(c.imported !== undefined ? { imported: c.imported } : {}),
      ...(c.duplicates !== undefined ? { duplicates: c.duplicates } : {}),
      ...(c.refused !== undefined ? { refused: c.refused } : {}),
      ...(c.confirmations !== undefined ? { confirmations: c.confirmations } : {}),
    })
    .where('business_id', '=', job.business_id)
    .where('id', '=', job.id)
    .where('attempts', '=', job.attempts)
    .execute();
}

export interface ImportEnd {
  status: 'done' | 'failed';
  counts: Required<ImportCounts>;
  refusedByCode: Record<string, number>;
  rejectsCsv: string | null;
  error: string | null;
}

/** The job's end: result (or error) and rejects in one transaction with dropping the uploaded file. */
export async function finishImportJob(q: Kysely<DB>, job: ImportJobRow, end: ImportEnd, now: number): Promise<void> {
  const c = end.counts;
  await q
    .updateTable('import_jobs')
    .set({
      status: end.status,
      rows_read: c.rowsRead,
      bytes_read: c.bytesRead,
      imported: c.imported,
      duplicates: c.duplicates,
      refused: c.refused,
      confirmations: c.confirmations,
      refused_by_code: JSON.stringify(end.refusedByCode),
      rejects_csv: end.rejectsCsv,
      error: end.error,
      lease_until: null,
      finished_at: now,
      updated_at: now,
    })
    .where('business_id', '=', job.business_id)
    .where('id', '=', job.id)
    .where('attempts', '=', job.attempts)
    .execute();
  await q
    .deleteFrom('import_job_chunks')
    .where('business_id', '=', job.business_id)
    .where('job_id', '=', job.id)
    .execute();
}

/** An upload that did not complete (too large, cut off): the job is failed at once and its bytes dropped. */
export async function abandonImportJob(
  q: Kysely<DB>,
  businessId: string,
  id: string,
  error: string,
  now: number,
): Promise<void> {
  await q
    .updateTable('import_jobs')
    .set({ status: 'failed', error, finished_at: now, updated_at: now })
    .where('business_id', '=', businessId)
    .where('id', '=', id)
    .execute();
  await q.deleteFrom('import_job_chunks').where('business_id', '=', businessId).where('job_id', '=', id).execute();
}
