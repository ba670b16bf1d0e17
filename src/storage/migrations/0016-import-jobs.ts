import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit a migration that has shipped; add a new one.
//
// Imports through the API (POST /v1/imports): the job and the uploaded file, both in the database so that any
// serving process can run the job and a restart finds it (services/import/import-jobs.ts). Keyed by business first.
// - import_jobs: the options as given, the status (queued, running, done, failed), progress (rows and bytes read)
//   and counts by outcome; the refused rows as CSV once done; a lease that a running process renews, so a job
//   whose process died is taken again (a re-run of a file is a no-op for what it already recorded).
// - import_job_chunks: the uploaded bytes in order (base64 text: the same column type on both databases),
//   deleted once the job has ended.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('import_jobs')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('options', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('file_hash', 'text')
    .addColumn('file_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('rows_read', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_read', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('imported', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('duplicates', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('refused', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('confirmations', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('refused_by_code', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('rejects_csv', 'text')
    .addColumn('error', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_until', 'bigint')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_jobs_pk', ['business_id', 'id'])
    .execute();
  // The runner's pick-up: queued jobs, and running ones whose lease ran out.
  await sql`CREATE INDEX import_jobs_open ON import_jobs (status, created_at) WHERE status IN ('queued', 'running')`.execute(
    db,
  );
  await db.schema
    .createTable('import_job_chunks')
    .addColumn('business_id', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_job_chunks_pk', ['business_id', 'job_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('import_job_chunks').ifExists().execute();
  await db.schema.dropTable('import_jobs').ifExists().execute();
}
