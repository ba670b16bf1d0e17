import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { sha256Hex } from '../../lib/crypto.js';
import type { DB } from '../schema.js';

export interface RateLimitHit {
  /** Hits in the current window, this one included. */
  hits: number;
  /** When the current window ends (epoch ms). */
  resetAt: number;
}

/**
 * Counts one hit of `key` in its window, for every process at once: ONE upsert (an insert, or an increment of
 * the row, restarted at 1 when its window is over), atomic on both dialects (PostgreSQL's ON CONFLICT takes
 * the row's lock; SQLite has one writer). A window starts at the key's first hit, like the in-memory store it
 * replaces. The key is hashed: limiter keys hold IP addresses and phone numbers.
 */
export async function hitRateLimit(db: Kysely<DB>, key: string, windowMs: number, now: number): Promise<RateLimitHit> {
  const keyHash = sha256Hex(`${windowMs}:${key}`);
  const resetAt = now + windowMs;
  const expired = sql<boolean>`rate_limits.reset_at <= ${now}`;
  const row = await db
    .insertInto('rate_limits')
    .values({ key_hash: keyHash, hits: 1, reset_at: resetAt })
    .onConflict((oc) =>
      oc.column('key_hash').doUpdateSet({
        hits: sql<number>`case when ${expired} then 1 else rate_limits.hits + 1 end`,
        reset_at: sql<number>`case when ${expired} then ${resetAt} else rate_limits.reset_at end`,
      }),
    )
    .returning(['hits', 'reset_at'])
    .executeTakeFirstOrThrow();
  return { hits: Number(row.hits), resetAt: Number(row.reset_at) };
}

/** Deletes the counters whose window is over (housekeeping); returns how many. */
export async function deleteExpiredRateLimits(db: Kysely<DB>, now: number): Promise<number> {
  const r = await db.deleteFrom('rate_limits').where('reset_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
