import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { Keyring } from '../../lib/crypto.js';
import { newId } from '../../lib/ids.js';
import { parseJson } from '../json.js';

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

/** Creates or replaces the account of one provider for a business (one WhatsApp number per business for now). */
export async function upsertChannelAccount(
  q: Q,
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
  if (q.isTransaction) await write(q);
  else await q.transaction().execute(write);
  return (await getChannelAccount(q, keyring, input.businessId, input.provider))!;
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

/** Routing of inbound webhooks: which business owns this provider id (a WhatsApp phone_number_id, a Twilio number). */
export async function findChannelByExternalId<S = Record<string, unknown>, K = Record<string, unknown>>(
  q: Q,
  keyring: Keyring,
  provider: ChannelProvider,
  externalId: string,
): Promise<ChannelAccount<S, K> | null> {
  const route = await q
    .selectFrom('channel_routes')
    .select(['business_id', 'account_id'])
    .where('provider', '=', provider)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  if (!route) return null;
  const r = await q
    .selectFrom('channel_accounts')
    .selectAll()
    .where('business_id', '=', route.business_id)
    .where('id', '=', route.account_id)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  return r ? open<S, K>(r, keyring) : null;
}

/** The WhatsApp accounts that own these phone_number_ids (webhook routing and signature ownership). */
export async function findWhatsAppAccounts(
  q: Q,
  keyring: Keyring,
  phoneNumberIds: readonly string[],
): Promise<ChannelAccount<WhatsAppSettings, WhatsAppSecrets>[]> {
  if (phoneNumberIds.length === 0) return [];
  const routes = await q
    .selectFrom('channel_routes')
    .select(['business_id', 'account_id'])
    .where('provider', '=', 'whatsapp_cloud')
    .where('external_id', 'in', [...new Set(phoneNumberIds)])
    .execute();
  // Then each business's accounts by primary key: one single-business read per owner (almost always one).
  const byBusiness = new Map<string, string[]>();
  for (const r of routes) byBusiness.set(r.business_id, [...(byBusiness.get(r.business_id) ?? []), r.account_id]);
  const out: ChannelAccount<WhatsAppSettings, WhatsAppSecrets>[] = [];
  for (const [businessId, ids] of byBusiness) {
    const rows = await q
      .selectFrom('channel_accounts')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('id', 'in', ids)
      .where('provider', '=', 'whatsapp_cloud')
      .where('external_id', 'in', [...phoneNumberIds])
      .execute();
    for (const r of rows) out.push(open<WhatsAppSettings, WhatsAppSecrets>(r, keyring));
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
