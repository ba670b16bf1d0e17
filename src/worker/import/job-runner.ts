import type { ServiceContext } from '../../services/context.js';
import { IMPORT_LEASE_MS, runImportJob } from '../../services/import/import-jobs.js';
import { claimImportJob } from '../../storage/import/import-job-store.js';

/**
 * Runs imports uploaded through the API (services/import/import-jobs.ts) in the serving process, one at a time:
 * takes a queued job from the table (or one whose process stopped: its lease ran out), runs it, looks again.
 * `wake()` is called by the upload route so a new job starts at once rather than at the next poll.
 */
export interface ImportJobRunner {
  wake(): void;
  /** Runs every job there is now, then resolves (tests drive the runner with this instead of waiting). */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export function startImportJobRunner(
  ctx: ServiceContext,
  opts: { pollMs?: number; poll?: boolean } = {},
): ImportJobRunner {
  let stopped = false;
  let running: Promise<number> | null = null;
  const runAll = async (): Promise<number> => {
    let n = 0;
    while (!stopped) {
      const job = await claimImportJob(ctx.database.db, ctx.clock.now(), IMPORT_LEASE_MS);
      if (!job) break;
      ctx.logger.info({ job: job.id, business: job.business_id, attempt: job.attempts }, 'import started');
      await runImportJob(ctx, job);
      n += 1;
    }
    return n;
  };
  const drain = (): Promise<number> => {
    if (running) return running.then(() => drain());
    running = runAll()
      .catch((err: unknown) => {
        ctx.logger.error({ err }, 'import runner failed; it looks again later');
        return 0;
      })
      .finally(() => (running = null));
    return running;
  };
  const timer = opts.poll === false ? null : setInterval(() => void drain(), opts.pollMs ?? 2000);
  timer?.unref();
  return {
    wake: () => void drain(),
    drain,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
