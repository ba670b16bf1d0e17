import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { parseJson } from '../json.js';
import { takesRowLocks } from '../db.js';
import { DEFAULT_POLICY, type BusinessPolicy, type Category } from '../../domain/gate/policy.js';

type Q = Kysely<DB>;

export interface Business {
  id: string;
  slug: string;
  displayName: string;
  policy: BusinessPolicy;
  createdAt: number;
  updatedAt: number;
}

export interface Topic {
  id: string;
  key: string;
  name: string;
  description: string | null;
  category: Category;
  createdAt: number;
  archivedAt: number | null;
  /** The name in other languages (domain/consent/topic-names.ts); `name` is the default. */
  names: Record<string, string>;
}

// Parsed policies are cached by their JSON text: the gate reads the policy on every decision.
const policyCache = new Map<string, BusinessPolicy>();
export function parsePolicy(text: string): BusinessPolicy {
  let p = policyCache.get(text);
  if (!p) {
    p = { ...DEFAULT_POLICY, ...parseJson<Partial<BusinessPolicy>>(text, {}) };
    if (policyCache.size > 1000) policyCache.clear();
    policyCache.set(text, p);
  }
  return p;
}

export function toBusiness(r: DB['businesses']): Business {
  return {
    id: r.id,
    slug: r.slug,
    displayName: r.display_name,
    policy: parsePolicy(r.policy),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function toTopic(r: DB['topics']): Topic {
  return {
    id: r.id,
    key: r.key,
    name: r.name,
    description: r.description,
    category: r.category as Category,
    createdAt: Number(r.created_at),
    archivedAt: r.archived_at === null ? null : Number(r.archived_at),
    names: parseJson<Record<string, string>>(r.names ?? null, {}),
  };
}

export async function getBusiness(q: Q, id: string): Promise<Business | null> {
  const r = await q.selectFrom('businesses').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toBusiness(r) : null;
}

export async function getBusinessBySlug(q: Q, slug: string): Promise<Business | null> {
  const r = await q.selectFrom('businesses').selectAll().where('slug', '=', slug).executeTakeFirst();
  return r ? toBusiness(r) : null;
}

export async function getTopicsByKeys(q: Q, businessId: string, keys: string[]): Promise<Topic[]> {
  if (keys.length === 0) return [];
  const rows = await q
    .selectFrom('topics')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('key', 'in', keys)
    .execute();
  return rows.map(toTopic);
}

export async function listTopics(q: Q, businessId: string): Promise<Topic[]> {
  const rows = await q.selectFrom('topics').selectAll().where('business_id', '=', businessId).orderBy('key').execute();
  return rows.map(toTopic);
}

/**
 * Takes the business row for the caller's transaction where the database has row locks (PostgreSQL), so
 * configuration changes of one business go one at a time; on SQLite the one writer already serialises them.
 */
export async function lockBusiness(q: Q, id: string): Promise<void> {
  if (takesRowLocks(q)) await q.selectFrom('businesses').select('id').where('id', '=', id).forUpdate().execute();
}
