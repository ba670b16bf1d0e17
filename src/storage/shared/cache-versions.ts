import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/**
 * The caches whose invalidation every process must see (cache_versions.name), each bumped by triggers in the
 * writing transaction: 'api_keys' by key revocations and deletions (migration 0011), 'channel_routes' by every
 * write of a channel account or route (migration 0018).
 */
export type CacheName = 'api_keys' | 'channel_routes';

/** The version of `name` now (0 before its first bump): one primary-key read. */
export async function readCacheVersion(q: Kysely<DB>, name: CacheName): Promise<number> {
  return (await readCacheVersions(q, [name])).get(name) ?? 0;
}

/** The versions of `names` now, in one read (0 for a name never bumped). */
export async function readCacheVersions(q: Kysely<DB>, names: readonly CacheName[]): Promise<Map<CacheName, number>> {
  const rows = await q.selectFrom('cache_versions').select(['name', 'version']).where('name', 'in', names).execute();
  const out = new Map<CacheName, number>(names.map((n) => [n, 0]));
  for (const r of rows) out.set(r.name as CacheName, Number(r.version));
  return out;
}
