import type { Insertable, Kysely, Selectable } from 'kysely';
import type { DB } from '../schema.js';

type Q = Kysely<DB>;
export type BusinessKeyRow = Selectable<DB['api_keys']>;
export type AdminKeyRow = Selectable<DB['admin_keys']>;

/**
 * Stores a business key and its global lookup (key_lookup: key_hash → business, key) in one transaction. The
 * lookup's primary key is what keeps key hashes unique across businesses (api_keys is distributed by business
 * and its unique indexes must include business_id: docs/scale-out.md).
 */
export async function insertBusinessKey(q: Q, row: Insertable<DB['api_keys']>): Promise<void> {
  const write = async (t: Q) => {
    const lookup = { key_hash: row.key_hash, business_id: row.business_id, key_id: row.id };
    await t.insertInto('key_lookup').values(lookup).execute();
    await t.insertInto('api_keys').values(row).execute();
  };
  if (q.isTransaction) await write(q);
  else await q.transaction().execute(write);
}

/**
 * The business key with this hash: the lookup (a reference table, read on any node) names its business, then the
 * key row is read by its primary key, a single-shard read. Two point reads rather than a join: a join of the
 * lookup with a distributed table, with no business_id to filter on, would be sent to every shard.
 */
export async function findBusinessKeyByHash(
  q: Q,
  keyHash: string,
): Promise<Pick<BusinessKeyRow, 'id' | 'business_id' | 'revoked_at' | 'role'> | null> {
  const l = await q
    .selectFrom('key_lookup')
    .select(['business_id', 'key_id'])
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
  if (!l) return null;
  const r = await q
    .selectFrom('api_keys')
    .select(['id', 'business_id', 'revoked_at', 'role'])
    .where('business_id', '=', l.business_id)
    .where('id', '=', l.key_id)
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
  return r ?? null;
}

type AdminKeyState = Pick<AdminKeyRow, 'id' | 'revoked_at'>;
/** A platform admin key (admin_keys is a small reference table of its own, unique by hash). */
export async function findAdminKeyByHash(q: Q, keyHash: string): Promise<AdminKeyState | null> {
  const r = await q
    .selectFrom('admin_keys')
    .select(['id', 'revoked_at'])
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
  return r ?? null;
}

export async function insertAdminKey(q: Q, row: Insertable<DB['admin_keys']>): Promise<void> {
  await q.insertInto('admin_keys').values(row).execute();
}

/** Records a key's use; `businessId` null for a platform admin key. */
export async function touchKey(q: Q, businessId: string | null, id: string, now: number): Promise<void> {
  if (businessId === null) {
    await q.updateTable('admin_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  } else {
    await q
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('business_id', '=', businessId)
      .where('id', '=', id)
      .execute();
  }
}

export async function listBusinessKeys(q: Q, businessId: string): Promise<BusinessKeyRow[]> {
  return q.selectFrom('api_keys').selectAll().where('business_id', '=', businessId).orderBy('id').execute();
}

export async function listAdminKeys(q: Q): Promise<AdminKeyRow[]> {
  return q.selectFrom('admin_keys').selectAll().orderBy('id').execute();
}

/** Revokes a key (the lookup row stays: a revoked key is still known, and answered as revoked). */
export async function revokeKey(q: Q, businessId: string | null, id: string, now: number): Promise<void> {
  if (businessId === null) {
    await q
      .updateTable('admin_keys')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  } else {
    await q
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('business_id', '=', businessId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }
}
