import { fail } from '../../domain/errors.js';
import type { KeyCache } from '../../storage/caches.js';
import { newId } from '../../lib/ids.js';
import { randomToken, sha256Hex } from '../../lib/crypto.js';
import type { ServiceContext } from '../context.js';
import { isRole, type Role } from '../../domain/access/roles.js';
import {
  findAdminKeyByHash,
  findBusinessKeyByHash,
  insertAdminKey,
  insertBusinessKey,
  listAdminKeys,
  listBusinessKeys,
  revokeKey,
  touchKey,
} from '../../storage/business/key-store.js';
import { writeAudit } from '../../storage/audit/audit-store.js';

/**
 * API keys are shown once and stored only as a SHA-256 hash (they are 192-bit random, so a fast hash is
 * enough: there is nothing to brute-force). Business keys start `olk_`, platform admin keys `ola_`.
 */
export type Principal =
  { kind: 'admin'; keyId: string } | { kind: 'business'; keyId: string; businessId: string; role: Role };

export interface KeyInfo {
  id: string;
  name: string;
  prefix: string;
  businessId: string | null;
  /** The business key's role; null for platform admin keys. */
  role: Role | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export async function createApiKey(
  ctx: ServiceContext,
  input: { businessId: string | null; name: string; role?: Role; actor?: string },
): Promise<{ key: string; info: KeyInfo }> {
  const now = ctx.clock.now();
  // Without a role the caller is the operator (CLI, platform admin key, demo seed) making a business's key: admin.
  // A business key making another one passes the role it asked for (POST /v1/keys defaults to write).
  const role: Role | null = input.businessId ? (input.role ?? 'admin') : null;
  const key = `${input.businessId ? 'olk' : 'ola'}_${randomToken(24)}`;
  const row = {
    id: newId('key', now),
    name: input.name,
    prefix: key.slice(0, 10),
    key_hash: sha256Hex(key),
    created_at: now,
    last_used_at: null,
    revoked_at: null,
  };
  if (input.businessId) {
    const b = await ctx.database.db
      .selectFrom('businesses')
      .select('id')
      .where('id', '=', input.businessId)
      .executeTakeFirst();
    if (!b) fail('NOT_FOUND', 'No such business.', 'businessId');
    const businessId = input.businessId;
    // The audit row (when a key or the console asked) commits with the key.
    await ctx.database.transaction(async (trx) => {
      await insertBusinessKey(trx, { ...row, business_id: businessId, role: role! });
      if (input.actor)
        await writeAudit(trx, businessId, now, {
          actor: input.actor,
          action: 'key.create',
          target: row.id,
          detail: { name: input.name, role },
        });
    });
  } else {
    await insertAdminKey(ctx.database.db, row);
  }
  return {
    key,
    info: {
      id: row.id,
      name: row.name,
      prefix: row.prefix,
      businessId: input.businessId,
      role,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    },
  };
}

// Every API request authenticates; a verified key is remembered for a moment (by its hash, never the key) in the
// database handle's key cache (storage/caches.ts). Revocation through this process takes effect at once; through
// another process, within KEY_CACHE_TTL_MS, or within CACHE_WATCH_BOUND_MS where the cache watch runs
// (services/admin/cache-watch.ts, every serve).
const KEY_SHAPE = /^ol[ak]_[A-Za-z0-9_-]{32}$/;
const keyCache = (ctx: ServiceContext) => ctx.database.caches.keys as KeyCache<Principal>;

/**
 * The principal for a key verified a moment ago, without touching the database: null for a malformed key,
 * undefined when the key has to be looked up (authenticate does that).
 */
export function cachedPrincipal(ctx: ServiceContext, key: string): Principal | null | undefined {
  if (!KEY_SHAPE.test(key)) return null;
  return keyCache(ctx).get(sha256Hex(key), Date.now());
}

export async function authenticate(ctx: ServiceContext, key: string): Promise<Principal | null> {
  if (!KEY_SHAPE.test(key)) return null;
  const cache = keyCache(ctx);
  const hash = sha256Hex(key);
  const hit = cache.get(hash, Date.now());
  if (hit) return hit;
  const gen = cache.generation;
  const p = await lookup(ctx, key, hash);
  if (p) cache.set(hash, p, gen, Date.now());
  return p;
}

async function lookup(ctx: ServiceContext, key: string, hash: string): Promise<Principal | null> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  if (key.startsWith('ola_')) {
    const r = await findAdminKeyByHash(db, hash);
    if (!r || r.revoked_at !== null) return null;
    await touch(ctx, null, r.id, now);
    return { kind: 'admin', keyId: r.id };
  }
  const r = await findBusinessKeyByHash(db, hash);
  if (!r || r.revoked_at !== null) return null;
  await touch(ctx, r.business_id, r.id, now);
  // An unknown role (written by a newer version) grants the least.
  return { kind: 'business', keyId: r.id, businessId: r.business_id, role: isRole(r.role) ? r.role : 'read' };
}

// last_used_at is written at most once a minute per key so authentication stays a read on the hot path.
async function touch(ctx: ServiceContext, businessId: string | null, id: string, now: number) {
  const touched = keyCache(ctx).touched;
  const last = touched.get(id) ?? 0;
  if (now - last < 60_000) return;
  touched.set(id, now);
  await touchKey(ctx.database.db, businessId, id, now);
}

export async function listApiKeys(ctx: ServiceContext, businessId: string | null): Promise<KeyInfo[]> {
  const db = ctx.database.db;
  const rows = businessId ? await listBusinessKeys(db, businessId) : await listAdminKeys(db);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    businessId,
    role: 'role' in r && isRole(r.role) ? r.role : null,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  }));
}

export async function revokeApiKey(
  ctx: ServiceContext,
  businessId: string | null,
  keyId: string,
  actor?: string,
): Promise<KeyInfo> {
  keyCache(ctx).drop(keyId);
  const now = ctx.clock.now();
  await ctx.database.transaction(async (trx) => {
    await revokeKey(trx, businessId, keyId, now);
    if (!businessId || !actor) return;
    const known = await trx
      .selectFrom('api_keys')
      .select('id')
      .where('business_id', '=', businessId)
      .where('id', '=', keyId)
      .executeTakeFirst();
    if (known) await writeAudit(trx, businessId, now, { actor, action: 'key.revoke', target: keyId });
  });
  const keys = await listApiKeys(ctx, businessId);
  const k = keys.find((x) => x.id === keyId);
  if (!k) return fail('NOT_FOUND', 'No such API key.', 'keyId');
  return k;
}
