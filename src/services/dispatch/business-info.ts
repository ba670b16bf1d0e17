/**
 * What the worker needs of a business on every claim: the cached business (storage/business/business-cache.ts, the one
 * cache, checked against businesses.config_version on every use) plus its WhatsApp number (settings and the
 * decrypted token), kept with the cache entry it was read at: decrypting the token for every message would cost
 * more than the send. A channel write bumps the version like a topic or policy write, so a new token or rate
 * is used from the next claim on. Consent state is never cached.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.js';
import type { Keyring } from '../../lib/crypto.js';
import { BusinessCache, type CachedBusiness } from '../../storage/business/business-cache.js';
import {
  getChannelAccount,
  type WhatsAppSecrets,
  type WhatsAppSettings,
} from '../../storage/business/channel-store.js';

/** A business's WhatsApp number as the worker needs it: where to send, with what token, how fast. */
export interface SendAccount {
  phoneNumberId: string;
  accessToken: string;
  ratePerSecond: number;
}

export interface BusinessInfo extends CachedBusiness {
  account: SendAccount | null;
}

/** The database's business cache (storage/caches.ts), with each entry's WhatsApp number added on first use. */
export class BusinessInfoCache {
  private readonly infos = new WeakMap<CachedBusiness, BusinessInfo>();

  constructor(
    private readonly cache: BusinessCache,
    private readonly keyring: Keyring,
    private readonly defaultRatePerSecond: number,
  ) {}

  /** The business at the database's current config version (one primary-key read when it is cached). */
  async get(q: Kysely<DB>, businessId: string): Promise<BusinessInfo | null> {
    const entry = await this.cache.get(q, businessId);
    if (!entry) return null;
    const hit = this.infos.get(entry);
    if (hit) return hit;
    const acc = await getChannelAccount<WhatsAppSettings, WhatsAppSecrets>(
      q,
      this.keyring,
      businessId,
      'whatsapp_cloud',
    );
    const account: SendAccount | null =
      acc && acc.settings.phoneNumberId && acc.secrets?.accessToken
        ? {
            phoneNumberId: acc.settings.phoneNumberId,
            accessToken: acc.secrets.accessToken,
            ratePerSecond: validRate(acc.settings.ratePerSecond) ?? this.defaultRatePerSecond,
          }
        : null;
    const info: BusinessInfo = { ...entry, account };
    this.infos.set(entry, info);
    return info;
  }

  /** Cached entries only (no I/O): used to decide which numbers have no room before the claim query. */
  peek(businessId: string): BusinessInfo | undefined {
    const e = this.cache.peek(businessId);
    return e ? this.infos.get(e) : undefined;
  }

  *known(): IterableIterator<BusinessInfo> {
    for (const e of this.cache.known()) {
      const info = this.infos.get(e);
      if (info) yield info;
    }
  }
}

const validRate = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
