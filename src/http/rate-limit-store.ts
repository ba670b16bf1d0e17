import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { ServiceContext } from '../services/context.js';
import { hitRateLimit } from '../storage/shared/rate-limit-store.js';

type Result = { current: number; ttl: number };
type Incr = (key: string, cb: (err: Error | null, r?: Result) => void, timeWindow?: number) => void;

/**
 * @fastify/rate-limit's store, counting in the database (storage/shared/rate-limit-store.ts) instead of this
 * process's memory: every process against one database counts each hit of a key once, so a limit configured as
 * 30 per 10 minutes is 30 however many API processes serve the pages. Time is the service clock.
 */
export function databaseRateLimitStore(ctx: ServiceContext): FastifyRateLimitStoreCtor {
  class DatabaseRateLimitStore {
    constructor(private readonly options: { timeWindow?: unknown } = {}) {}

    // The plugin passes each limiter's window as the third argument (its typings omit it).
    incr: Incr = (key, cb, timeWindow) => {
      const windowMs = typeof timeWindow === 'number' ? timeWindow : Number(this.options.timeWindow ?? 60_000);
      const now = ctx.clock.now();
      hitRateLimit(ctx.database.db, key, windowMs, now).then(
        (r) => cb(null, { current: r.hits, ttl: Math.max(0, r.resetAt - now) }),
        (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
      );
    };

    child(routeOptions: object): FastifyRateLimitStore {
      return new DatabaseRateLimitStore(routeOptions as { timeWindow?: unknown }) as unknown as FastifyRateLimitStore;
    }
  }
  return DatabaseRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
