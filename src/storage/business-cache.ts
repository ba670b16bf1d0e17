import type { Kysely } from 'kysely';
import type { DB } from './schema.js';
import { parsePolicy, toTopic, type Topic } from './business-store.js';
import type { BusinessPolicy } from '../domain/policy.js';

/**
 * Businesses and their topics change rarely and are read by every gate decision. They are cached per process
 * for a short time; writes made through this process invalidate at once, writes made by another process are
 * seen within TTL_MS. Consent state is never cached.
 */
const TTL_MS = 1000;

export interface CachedBusiness {
  id: string;
  displayName: string;
  policy: BusinessPolicy;
  topicsByKey: Map<string, Topic>;
  topicsById: Map<string, Topic>;
  loadedAt: number;
}

const cache = new Map<string, CachedBusiness>();

export async function cachedBusiness(q: Kysely<DB>, businessId: string): Promise<CachedBusiness | null> {
  const hit = cache.get(businessId);
  const now = Date.now();
  if (hit && now - hit.loadedAt < TTL_MS) return hit;
  const b = await q.selectFrom('businesses').select(['id', 'display_name', 'policy']).where('id', '=', businessId).executeTakeFirst();
  if (!b) {
    cache.delete(businessId);
    return null;
  }
  const topics = (await q.selectFrom('topics').selectAll().where('business_id', '=', businessId).execute()).map(toTopic);
  const entry: CachedBusiness = {
    id: b.id, displayName: b.display_name, policy: parsePolicy(b.policy),
    topicsByKey: new Map(topics.map((t) => [t.key, t])), topicsById: new Map(topics.map((t) => [t.id, t])), loadedAt: now,
  };
  if (cache.size > 10_000) cache.clear();
  cache.set(businessId, entry);
  return entry;
}

export function invalidateBusiness(businessId: string): void {
  cache.delete(businessId);
}
