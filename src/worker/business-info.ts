/**
 * What the worker needs of a business on every claim: display name, policy, topics, and its WhatsApp number
 * (settings plus the decrypted token). Kept per worker for a short time, because decrypting the token and
 * re-reading the policy for every message would cost more than the send; consent state is never cached.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.js';
import type { Keyring } from '../lib/crypto.js';
import type { BusinessPolicy } from '../domain/policy.js';
import { parsePolicy, toTopic, type Topic } from '../storage/business-store.js';
import { getChannelAccount, type WhatsAppSecrets, type WhatsAppSettings } from '../storage/channel-store.js';
import type { SendAccount } from './types.js';

/** Policy, topic and credential changes reach a running worker within this time. */
export const BUSINESS_INFO_TTL_MS = 2000;

export interface BusinessInfo {
  id: string;
  displayName: string;
  policy: BusinessPolicy;
  topicsById: Map<string, Topic>;
  topicsByKey: Map<string, Topic>;
  account: SendAccount | null;
  loadedAt: number;
}

export class BusinessInfoCache {
  private readonly entries = new Map<string, BusinessInfo>();

  constructor(
    private readonly keyring: Keyring,
    private readonly defaultRatePerSecond: number,
    private readonly ttlMs = BUSINESS_INFO_TTL_MS,
  ) {}

  /** `now` is wall time (Date.now), not the injected clock: the TTL is about real staleness. */
  async get(q: Kysely<DB>, businessId: string, now = Date.now()): Promise<BusinessInfo | null> {
    const hit = this.entries.get(businessId);
    if (hit && now - hit.loadedAt < this.ttlMs) return hit;
    const b = await q.selectFrom('businesses').select(['id', 'display_name', 'policy']).where('id', '=', businessId).executeTakeFirst();
    if (!b) {
      this.entries.delete(businessId);
      return null;
    }
    const topics = (await q.selectFrom('topics').selectAll().where('business_id', '=', businessId).execute()).map(toTopic);
    const acc = await getChannelAccount<WhatsAppSettings, WhatsAppSecrets>(q, this.keyring, businessId, 'whatsapp_cloud');
    const account: SendAccount | null =
      acc && acc.settings.phoneNumberId && acc.secrets?.accessToken
        ? { phoneNumberId: acc.settings.phoneNumberId, accessToken: acc.secrets.accessToken, ratePerSecond: validRate(acc.settings.ratePerSecond) ?? this.defaultRatePerSecond }
        : null;
    const info: BusinessInfo = {
      id: b.id, displayName: b.display_name, policy: parsePolicy(b.policy), account, loadedAt: now,
      topicsById: new Map(topics.map((t) => [t.id, t])), topicsByKey: new Map(topics.map((t) => [t.key, t])),
    };
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(businessId, info);
    return info;
  }

  /** Cached entries only (no I/O): used to decide which numbers have no room before the claim query. */
  peek(businessId: string): BusinessInfo | undefined {
    return this.entries.get(businessId);
  }

  known(): IterableIterator<BusinessInfo> {
    return this.entries.values();
  }
}

const validRate = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
