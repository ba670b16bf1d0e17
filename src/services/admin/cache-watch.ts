import type { ServiceContext } from '../context.js';
import type { WatchedCache } from '../../storage/caches.js';
import { readCacheVersions, type CacheName } from '../../storage/shared/cache-versions.js';

/**
 * The bound within which a change made through any process is seen by this one's caches: a key revoked (API
 * keys), a channel's number, app secret or credentials changed (inbound routes). Each such write bumps its
 * cache_versions row in its transaction (triggers, migrations 0011 and 0018), and this watch reads the rows every
 * CACHE_WATCH_POLL_MS, in one read. Remembered values answer only while the last read that STARTED within the
 * bound succeeded, and a read that finds a version moved drops that cache first. So a change committed at R is
 * never contradicted from memory after R + CACHE_WATCH_BOUND_MS: either a read begun after R dropped the cache,
 * or no read is recent enough and every use looks its value up. A change through this process is seen at once.
 */
export const CACHE_WATCH_BOUND_MS = 1000;
export const CACHE_WATCH_POLL_MS = 200;

export function startCacheWatch(
  ctx: ServiceContext,
  o: { pollMs?: number; boundMs?: number } = {},
): { stop(): Promise<void> } {
  const boundMs = o.boundMs ?? CACHE_WATCH_BOUND_MS;
  const caches = ctx.database.caches;
  const watched = new Map<CacheName, WatchedCache<unknown>>([
    ['api_keys', caches.keys],
    ['channel_routes', caches.routes],
  ]);
  const versions = new Map<CacheName, number>();
  let verifiedAt = -Infinity;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let failures = 0;
  // Wall time like the caches' own expiry (the service clock may be a test's manual clock).
  const trusted = () => Date.now() - verifiedAt < boundMs;
  for (const cache of watched.values()) cache.trusted = trusted;
  const tick = () => {
    const startedAt = Date.now();
    running = readCacheVersions(ctx.database.db, [...watched.keys()])
      .then((now) => {
        for (const [name, cache] of watched) {
          // The first read drops too: a value remembered before it may predate a change.
          if (now.get(name) !== versions.get(name)) cache.dropAll();
          versions.set(name, now.get(name)!);
        }
        verifiedAt = startedAt;
        failures = 0;
      })
      .catch((err: unknown) => {
        if (failures++ % 50 === 0)
          ctx.logger.warn(
            { err },
            'cache watch failed; keys and routes are looked up on every use until it reads again',
          );
      })
      .finally(() => {
        if (!stopped) (timer = setTimeout(tick, o.pollMs ?? CACHE_WATCH_POLL_MS)).unref();
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      for (const cache of watched.values()) {
        const fallback = cache.trustedWithoutWatch;
        cache.trusted = () => fallback;
      }
    },
  };
}
