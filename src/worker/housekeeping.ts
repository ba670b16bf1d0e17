import type { ServiceContext } from '../services/context.js';
import { sealLedger } from '../services/consent/seal-ledger.js';
import { runExpiryAndQuality } from './expiry-and-quality.js';
import { deleteExpiredRateLimits } from '../storage/shared/rate-limit-store.js';

const DAY = 86_400_000;

export interface HousekeepingResult {
  inbox: number;
  usedTokens: number;
  ownershipRequests: number;
  invitations: number;
  rateLimits: number;
}

/**
 * Deletes what has served its purpose and would otherwise pile up, much of it personal data:
 * - processed webhook items older than the retention (their payloads hold numbers and message texts; the ledger
 *   keeps what a consent rests on, with its own evidence);
 * - spent single-use link ids past their expiry (an expired link is refused by its signature's time anyway);
 * - ownership-check requests a day after they expired, and invitations 30 days after (a late reply then finds
 *   nothing to redeem, as it would have found an expired request);
 * - rate-limit counters whose window is over (they hold hashes of IPs and numbers).
 * Never touches the ledger, consent state, suppressions or messages (sealing the ledger only adds seals).
 */
export async function runHousekeeping(
  ctx: ServiceContext,
  opts: { inboxRetentionDays: number },
): Promise<HousekeepingResult> {
  const now = ctx.clock.now();
  const db = ctx.database.db;
  const n = (r: { numDeletedRows: bigint }[]) => Number(r.reduce((a, x) => a + x.numDeletedRows, 0n));
  return {
    inbox: n(
      await db
        .deleteFrom('inbox')
        .where('processed_at', 'is not', null)
        .where('processed_at', '<', now - opts.inboxRetentionDays * DAY)
        .execute(),
    ),
    usedTokens: n(await db.deleteFrom('used_tokens').where('expires_at', '<', now).execute()),
    ownershipRequests: n(
      await db
        .deleteFrom('ownership_requests')
        .where('expires_at', '<', now - DAY)
        .execute(),
    ),
    invitations: n(
      await db
        .deleteFrom('invitations')
        .where('expires_at', '<', now - 30 * DAY)
        .execute(),
    ),
    rateLimits: await deleteExpiredRateLimits(db, now),
  };
}

/**
 * Runs housekeeping soon after start and then every hour, and seals the ledger (services/consent/seal-ledger.ts) soon
 * after start and then every 10 minutes; a failed run is logged and tried again next time. Each job runs once
 * at a time; several servers may seal at once (the second finds its seal number taken and stops). With a
 * `lease`, only the process holding it runs the jobs (one housekeeping per database, worker/lease.ts).
 */
export function startHousekeeping(
  ctx: ServiceContext,
  opts: { inboxRetentionDays: number; everyMs?: number; sealEveryMs?: number; lease?: { held(): boolean } },
): { stop(): Promise<void> } {
  const job = (name: string, work: () => Promise<void>) => {
    let running: Promise<void> | null = null;
    return {
      run: () => {
        if (running || (opts.lease && !opts.lease.held())) return;
        running = work()
          .catch((err: unknown) => ctx.logger.error({ err }, `${name} failed; it runs again later`))
          .finally(() => (running = null));
      },
      idle: () => running ?? Promise.resolve(),
    };
  };
  const cleanup = job('housekeeping', async () => {
    const r = await runHousekeeping(ctx, opts);
    await runExpiryAndQuality(ctx);
    if (r.inbox + r.usedTokens + r.ownershipRequests + r.invitations + r.rateLimits > 0)
      ctx.logger.info({ deleted: r }, 'housekeeping');
  });
  const seal = job('ledger seal', async () => {
    await sealLedger(ctx);
  });
  const timers = [
    setTimeout(cleanup.run, 60_000),
    setInterval(cleanup.run, opts.everyMs ?? 3_600_000),
    setTimeout(seal.run, 60_000),
    setInterval(seal.run, opts.sealEveryMs ?? 600_000),
  ];
  for (const t of timers) t.unref();
  return {
    async stop() {
      for (const t of timers) clearTimeout(t);
      await Promise.all([cleanup.idle(), seal.idle()]);
    },
  };
}
