import { open } from 'node:fs/promises';
import type SQLite from 'better-sqlite3';
import type { Database, Trx } from '../db.js';

/**
 * A transaction whose caller is answered only once it is on disk, without blocking the event loop on the fsync.
 *
 * With `synchronous=FULL`, SQLite fsyncs the write-ahead log inside COMMIT, and better-sqlite3 being synchronous,
 * the whole process waits: for webhook ingest that wait was about half of each POST. Here the transaction commits
 * with `synchronous=NORMAL` (atomic and consistent, only not yet forced to disk), the connection goes back to its
 * own setting before anyone else can use it (the transaction runs on a connection held for it alone), and then the
 * log is fsynced on libuv's thread pool while other requests are served. The returned promise resolves after that
 * fsync: whoever acknowledges on it (a webhook's 200) acknowledges only what is durable, as with FULL.
 * PostgreSQL commits are durable when they return: a plain transaction.
 */
export async function commitThenSync<T>(database: Database, fn: (trx: Trx) => Promise<T>): Promise<T> {
  const raw = database.sqlite;
  if (!raw || raw.memory) return database.transaction(fn);
  const out = await database.db.connection().execute(async (conn) => {
    const setting = Number(raw.pragma('synchronous', { simple: true }));
    raw.pragma('synchronous = NORMAL');
    try {
      return await conn.transaction().execute(fn);
    } finally {
      raw.pragma(`synchronous = ${setting}`);
    }
  });
  await syncLog(raw);
  return out;
}

/** fsync of the write-ahead log on the thread pool: every frame SQLite has written to it is on disk after. */
export async function syncLog(raw: SQLite.Database): Promise<void> {
  if (raw.memory) return;
  let fh;
  try {
    fh = await open(`${raw.name}-wal`, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // no log: everything is in the database file
    throw e;
  }
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
