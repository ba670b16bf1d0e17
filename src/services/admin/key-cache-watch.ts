import type { ServiceContext } from '../context.js';
import { readCacheVersion } from '../../storage/shared/cache-versions.js';

/**
 * The bound within which a key revoked through any process is refused by this one: its revocation bumps
 * cache_versions 'api_keys' in its transaction (triggers, migration 0011), and this watch reads that version
 * every KEY_WATCH_POLL_MS. Remembered principals answer only while the last read that STARTED within the bound
 * succeeded, and a read that finds the version moved drops them all first. So a key revoked at R is never
 * answered from memory after R + KEY_REVOCATION_BOUND_MS: either a read begun after R dropped it, or no read
 * is recent enough and every request looks its key up. A revocation through this process is seen at once.
 */
export const KEY_REVOCATION_BOUND_MS = 1000;
export const KEY_WATCH_POLL_MS = 200;

export function startKeyCacheWatch(
  ctx: ServiceContext,
  o: { pollMs?: number; boundMs?: number } = {},
): { stop(): Promise<void> } {
  const boundMs = o.boundMs ?? KEY_REVOCATION_BOUND_MS;
  let version: number | null = null;
  let verifiedAt = -Infinity;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let failures = 0;
  // Wall time like the cache's own expiry (the service clock may be a test's manual clock).
  const keys = ctx.database.caches.keys;
  keys.trusted = () => Date.now() - verifiedAt < boundMs;
  const tick = () => {
    const startedAt = Date.now();
    running = readCacheVersion(ctx.database.db, 'api_keys')
      .then((v) => {
        // The first read drops too: a principal remembered before it may predate a revocation.
        if (v !== version) keys.dropAll();
        version = v;
        verifiedAt = startedAt;
        failures = 0;
      })
      .catch((err: unknown) => {
        if (failures++ % 50 === 0)
          ctx.logger.warn({ err }, 'key cache watch failed; keys are looked up on every request until it reads again');
      })
      .finally(() => {
        if (!stopped) (timer = setTimeout(tick, o.pollMs ?? KEY_WATCH_POLL_MS)).unref();
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      keys.trusted = () => true;
    },
  };
}
