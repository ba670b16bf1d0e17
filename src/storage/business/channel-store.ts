import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { Keyring } from '../../lib/crypto.js';
import { newId } from '../../lib/ids.js';
import { parseJson } from '../json.js';
import type { Database } from '../db.js';
import type { WatchedCache } from '../caches.js';

type Q = Kysely<DB>;

export type ChannelProvider = 'whatsapp_cloud' | 'twilio' | 'smtp';

/** Non-secret settings of a business's WhatsApp number. */
export interface WhatsAppSettings {
  phoneNumberId: string;
  wabaId?: string;
  displayPhoneNumber?: string;
  /** Messages per second this number may send (Meta's default tier: 80). */
  ratePerSecond?: number;
}
/** Secrets: stored only sealed (AES-256-GCM under the master key), never returned by the API, never logged. */
export interface WhatsAppSecrets {
  accessToken: string;
  /** The business's own Meta app secret; absent when the platform's shared app is used. */
  appSecret?: string;
  verifyToken?: string;
}

export interface ChannelAccount<S = Record<string, unknown>, K = Record<string, unknown>> {
  id: string;
  businessId: string;
  provider: ChannelProvider;
  externalId: string | null;
  settings: S;
  secrets: K | null;
  createdAt: number;
  updatedAt: number;
}

function open<S, K>(r: DB['channel_accounts'], keyring: Keyring): ChannelAccount<S, K> {
  return {
    id: r.id,
    businessId: r.business_id,
    provider: r.provider as ChannelProvider,
    externalId: r.external_id,
    settings: parseJson<S>(r.settings, {} as S),
    secrets: r.secret_sealed ? (JSON.parse(keyring.decrypt(r.secret_sealed)) as K) : null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/**
 * Creates or replaces the account of one provider for a business (one WhatsApp number per business for now). The
 * write bumps the 'channel_routes' cache version by trigger (migration 0018), so every process's remembered routes
 * are dropped within the cache watch's bound; this process's are dropped once the write committed.
 */
export async function upsertChannelAccount(
  database: Database,
  keyring: Keyring,
  input: {
    businessId: string;
    provider: ChannelProvider;
    externalId: string | null;
    settings: object;
    secrets: object | null;
  },
  now: number,
): Promise<ChannelAccount> {
  const sealed = input.secrets ? keyring.encrypt(JSON.stringify(input.secrets)) : null;
  // One account per business and provider, with no unique index to say so: the business row is write-locked
  // first (a no-op UPDATE, portable to both dialects), so concurrent identical PUTs update one row in turn
  // instead of each inserting its own.
  const write = async (t: Q) => {
    await t
      .updateTable('businesses')
      .set((eb) => ({ updated_at: eb.ref('updated_at') }))
      .where('id', '=', input.businessId)
      .execute();
    const existing = await t
      .selectFrom('channel_accounts')
      .select('id')
      .where('business_id', '=', input.businessId)
      .where('provider', '=', input.provider)
      .executeTakeFirst();
    const id = existing?.id ?? newId('cha', now);
    if (existing) {
      await t
        .updateTable('channel_accounts')
        .set({
          external_id: input.externalId,
          settings: JSON.stringify(input.settings),
          secret_sealed: sealed,
          updated_at: now,
        })
        .where('business_id', '=', input.businessId)
        .where('id', '=', id)
        .execute();
    } else {
      await t
        .insertInto('channel_accounts')
        .values({
          business_id: input.businessId,
          id,
          provider: input.provider,
          external_id: input.externalId,
          settings: JSON.stringify(input.settings),
          secret_sealed: sealed,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    await replaceRoute(t, input.businessId, id, input.provider, input.externalId);
  };
  try {
    await database.db.transaction().execute(write);
  } finally {
    // Also on failure: a lookup made while the write was under way may have remembered either side of it.
    database.caches.routes.dropAll();
  }
  return (await getChannelAccount(database.db, keyring, input.businessId, input.provider))!;
}

/**
 * Keeps an account's route (channel_routes: (provider, external_id) → business, account) in step with its
 * external id, in the account's transaction. The route's primary key is the rule that one number belongs to one
 * business: a number another business routes fails here with a unique violation (the callers' CONFLICT).
 */
async function replaceRoute(
  t: Q,
  businessId: string,
  accountId: string,
  provider: ChannelProvider,
  externalId: string | null,
): Promise<void> {
  const current = await t
    .selectFrom('channel_routes')
    .select('external_id')
    .where('business_id', '=', businessId)
    .where('account_id', '=', accountId)
    .execute();
  if (current.length === 1 && current[0]!.external_id === externalId) return;
  await t
    .deleteFrom('channel_routes')
    .where('business_id', '=', businessId)
    .where('account_id', '=', accountId)
    .execute();
  if (externalId !== null) {
    const route = { provider, external_id: externalId, business_id: businessId, account_id: accountId };
    await t.insertInto('channel_routes').values(route).execute();
  }
}

export async function getChannelAccount<S = Record<string, unknown>, K = Record<string, unknown>>(
  q: Q,
  keyring: Keyring,
  businessId: string,
  provider: ChannelProvider,
): Promise<ChannelAccount<S, K> | null> {
  const r = await q
    .selectFrom('channel_accounts')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('provider', '=', provider)
    .executeTakeFirst();
  return r ? open<S, K>(r, keyring) : null;
}

type Route = ChannelAccount<unknown, unknown> | null;
const routeKey = (provider: ChannelProvider, externalId: string) => `${provider}\n${externalId}`;

/**
 * Inbound routing: the account that owns each of these external ids of one provider (a WhatsApp phone_number_id,
 * a Twilio number or Messaging Service), null where no business does. Remembered in the handle's route cache
 * (storage/caches.ts) while the cache watch trusts it, so a webhook POST of a known number reads nothing; a change
 * made through another process is seen within CACHE_WATCH_BOUND_MS (services/admin/cache-watch.ts).
 * The accounts returned are shared with the cache: read them, never change them.
 */
export async function routedAccounts<S = Record<string, unknown>, K = Record<string, unknown>>(
  database: Database,
  keyring: Keyring,
  provider: ChannelProvider,
  externalIds: readonly string[],
): Promise<Map<string, ChannelAccount<S, K> | null>> {
  const cache = database.caches.routes as WatchedCache<Route>;
  const out = new Map<string, ChannelAccount<S, K> | null>();
  const missing: string[] = [];
  for (const id of new Set(externalIds)) {
    const hit = cache.get(routeKey(provider, id), Date.now());
    if (hit === undefined) missing.push(id);
    else out.set(id, hit as ChannelAccount<S, K> | null);
  }
  if (missing.length === 0) return out;
  const generation = cache.generation;
  const found = await readRoutedAccounts<S, K>(database.db, keyring, provider, missing);
  const now = Date.now();
  for (const id of missing) {
    const account = found.get(id) ?? null;
    out.set(id, account);
    cache.set(routeKey(provider, id), account as Route, generation, now);
  }
  return out;
}

/** One external id's account (routedAccounts). */
export async function findChannelByExternalId<S = Record<string, unknown>, K = Record<string, unknown>>(
  database: Database,
  keyring: Keyring,
  provider: ChannelProvider,
  externalId: string,
): Promise<ChannelAccount<S, K> | null> {
  return (await routedAccounts<S, K>(database, keyring, provider, [externalId])).get(externalId) ?? null;
}

/** The WhatsApp accounts that own these phone_number_ids (webhook routing and signature ownership). */
export async function findWhatsAppAccounts(
  database: Database,
  keyring: Keyring,
  phoneNumberIds: readonly string[],
): Promise<ChannelAccount<WhatsAppSettings, WhatsAppSecrets>[]> {
  const routed = await routedAccounts<WhatsAppSettings, WhatsAppSecrets>(
    database,
    keyring,
    'whatsapp_cloud',
    phoneNumberIds,
  );
  return [...routed.values()].filter((a) => a !== null);
}

/** The routes of these external ids (a global lookup table), then each owner's accounts by primary key. */
async function readRoutedAccounts<S, K>(
  q: Q,
  keyring: Keyring,
  provider: ChannelProvider,
  externalIds: readonly string[],
): Promise<Map<string, ChannelAccount<S, K>>> {
  const out = new Map<string, ChannelAccount<S, K>>();
  if (externalIds.length === 0) return out;
  const routes = await q
    .selectFrom('channel_routes')
    .select(['business_id', 'account_id'])
    .where('provider', '=', provider)
    .where('external_id', 'in', externalIds)
    .execute();
  // One single-business read per owner (almost always one).
  const byBusiness = new Map<string, string[]>();
  for (const r of routes) byBusiness.set(r.business_id, [...(byBusiness.get(r.business_id) ?? []), r.account_id]);
  for (const [businessId, ids] of byBusiness) {
    const rows = await q
      .selectFrom('channel_accounts')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('id', 'in', ids)
      .where('provider', '=', provider)
      .where('external_id', 'in', externalIds)
      .execute();
    for (const r of rows) out.set(r.external_id!, open<S, K>(r, keyring));
  }
  return out;
}

/**
 * The WhatsApp accounts whose WABA is one of these ids: only for the rare POST that carries no phone_number_id
 * at all (account or template updates), so a scan of the WhatsApp accounts is acceptable.
 */
export async function findWhatsAppAccountsByWaba(
  q: Q,
  keyring: Keyring,
  wabaIds: readonly string[],
): Promise<ChannelAccount<WhatsAppSettings, WhatsAppSecrets>[]> {
  if (wabaIds.length === 0) return [];
  const wanted = new Set(wabaIds);
  const rows = await q.selectFrom('channel_accounts').selectAll().where('provider', '=', 'whatsapp_cloud').execute();
  return rows
    .map((r) => open<WhatsAppSettings, WhatsAppSecrets>(r, keyring))
    .filter((a) => a.settings.wabaId !== undefined && wanted.has(a.settings.wabaId));
}
