import type { Database } from '../db.js';

/**
 * SQLite allows one writer per file. A second process (a CLI import beside a running server) gets SQLITE_BUSY
 * ("database is locked") when the server holds the write lock longer than busy_timeout, or at once when its read
 * snapshot went stale before it could write (SQLITE_BUSY_SNAPSHOT: waiting would not help, running again does).
 * This wraps a Database so that a transaction failing that way is rolled back (nothing of it committed) and run
 * again after a pause, for up to `maxWaitMs`; `onWait` is told once per wait so a command can say it is waiting.
 * Only for work whose transactions have no effect outside the database (the import); never for the dispatch step.
 */
export function isSqliteBusy(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return (
    typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED')
  );
}

export interface BusyRetryOptions {
  maxWaitMs?: number;
  onWait?: (waitedMs: number) => void;
  /** The pause before a new attempt (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function withBusyRetry(database: Database, opts: BusyRetryOptions = {}): Database {
  if (database.dialect !== 'sqlite') return database;
  const maxWaitMs = opts.maxWaitMs ?? 10 * 60_000;
  const sleep = opts.sleep ?? pause;
  const retrying =
    <T>(run: () => Promise<T>) =>
    async (): Promise<T> => {
      let waited = 0;
      for (let attempt = 0; ; attempt++) {
        try {
          return await run();
        } catch (e) {
          if (!isSqliteBusy(e) || waited >= maxWaitMs) throw e;
          const ms = Math.min(1000, 25 * 2 ** Math.min(attempt, 6));
          opts.onWait?.(waited);
          await sleep(ms);
          waited += ms;
        }
      }
    };
  return {
    ...database,
    transaction: (fn) => retrying(() => database.transaction(fn))(),
    syncedTransaction: (fn) => retrying(() => database.syncedTransaction(fn))(),
  };
}
