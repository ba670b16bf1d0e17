import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/** The caches whose invalidation every process must see (cache_versions.name; bumped by triggers, migration 0011). */
export type CacheName = 'api_keys';

/** The version of `name` now (0 before its first bump): one primary-key read. */
export async function readCacheVersion(q: Kysely<DB>, name: CacheName): Promise<number> {
  const r = await q.selectFrom('cache_versions').select('version').where('name', '=', name).executeTakeFirst();
  return r ? Number(r.version) : 0;
}
