import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { parsePolicy, toTopic, type Topic } from './business-store.js';
import type { BusinessPolicy } from '../../domain/gate/policy.js';
import { blockedTemplateNames } from '../quality/template-health-store.js';

/**
 * THE cache of businesses and their topics (the gate at enqueue and the worker at claim both use it; the worker
 * adds its channel account on top, worker/dispatch/business-info.ts). Businesses change rarely and every decision reads
 * them, so they are kept in memory; but an entry is only ever used at the version the database holds now:
 * `businesses.config_version` is bumped in the transaction of every policy, topic, text and channel write
 * (triggers, migration 0005), and each use compares it. The gate reads the version in the same statement as its
 * facts (no extra round trip); the claim reads it once per business per round. So a write is seen by every
 * process as soon as it commits, before its response returns, and a cache can never refuse what the database
 * would allow. Consent state is never cached.
 */
export interface CachedBusiness {
  id: string;
  displayName: string;
  policy: BusinessPolicy;
  topicsByKey: Map<string, Topic>;
  topicsById: Map<string, Topic>;
  /** Templates paused or disabled for the business (storage/quality/template-health-store.ts bumps the version). */
  pausedTemplates: ReadonlySet<string>;
  /** The businesses.config_version this entry was read at. */
  version: number;
  loadedAt: number;
}

const MAX_ENTRIES = 10_000;

export class BusinessCache {
  private readonly entries = new Map<string, CachedBusiness>();

  /** The entry as held, without I/O (it may be behind the database: check its version before deciding). */
  peek(businessId: string): CachedBusiness | undefined {
    return this.entries.get(businessId);
  }

  known(): IterableIterator<CachedBusiness> {
    return this.entries.values();
  }

  /** The entry at the database's current version: one primary-key read when it is held. */
  async get(q: Kysely<DB>, businessId: string): Promise<CachedBusiness | null> {
    const hit = this.entries.get(businessId);
    if (!hit) return this.load(q, businessId);
    const r = await q.selectFrom('businesses').select('config_version').where('id', '=', businessId).executeTakeFirst();
    if (!r) return this.drop(businessId);
    return Number(r.config_version) === hit.version ? hit : this.load(q, businessId);
  }

  /** The entry at `version` (read by the caller in its own statement), reloaded if the held one is older. */
  async at(q: Kysely<DB>, businessId: string, version: number): Promise<CachedBusiness | null> {
    const hit = this.entries.get(businessId);
    return hit && hit.version >= version ? hit : this.load(q, businessId);
  }

  /** Reads the business and its topics now. The version is read first, so the topics are at least that new. */
  async load(q: Kysely<DB>, businessId: string): Promise<CachedBusiness | null> {
    const b = await q
      .selectFrom('businesses')
      .select(['id', 'display_name', 'policy', 'config_version'])
      .where('id', '=', businessId)
      .executeTakeFirst();
    if (!b) return this.drop(businessId);
    const topics = (await q.selectFrom('topics').selectAll().where('business_id', '=', businessId).execute()).map(
      toTopic,
    );
    const pausedTemplates = new Set(await blockedTemplateNames(q, businessId));
    const entry: CachedBusiness = {
      id: b.id,
      displayName: b.display_name,
      policy: parsePolicy(b.policy),
      version: Number(b.config_version),
      topicsByKey: new Map(topics.map((t) => [t.key, t])),
      topicsById: new Map(topics.map((t) => [t.id, t])),
      pausedTemplates,
      loadedAt: Date.now(),
    };
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(businessId, entry);
    return entry;
  }

  private drop(businessId: string): null {
    this.entries.delete(businessId);
    return null;
  }
}
