import { allWhatsAppAppSecrets, type WhatsAppSecrets } from '../storage/channel-store.js';
import type { ServiceContext } from './context.js';

// Bumped when this process changes a channel's secrets, so its own caches never serve the old set.
let generation = 0;
export function invalidateWebhookSecrets(): void {
  generation++;
}

export interface WebhookSecrets {
  /** App secrets that may sign a webhook: the shared app's and every business's own. Cached briefly. */
  appSecrets(opts?: { fresh?: boolean }): Promise<string[]>;
  /** True when a fresh read is allowed now (at most one per second, so forged requests cannot hammer the database). */
  mayRefresh(): boolean;
  /** Verify tokens for the GET handshake (read on each handshake: it is rare). */
  verifyTokens(): Promise<string[]>;
}

/**
 * The secrets WhatsApp webhooks are checked against. Every POST needs the app secrets, so they are kept for
 * `ttlMs`; a signature that matches none of the cached ones is checked once more against a fresh read, so a
 * business that has just configured its own app (in another process) is not refused for the length of the cache.
 */
export function createWebhookSecrets(
  ctx: ServiceContext,
  shared: { appSecret: string | null; verifyToken: string | null },
  ttlMs = 5000,
): WebhookSecrets {
  let cached: { at: number; generation: number; secrets: string[] } | null = null;
  let lastFresh = 0;
  const withShared = (own: string[]) => [...(shared.appSecret ? [shared.appSecret] : []), ...own];
  return {
    async appSecrets(opts = {}) {
      const t = Date.now();
      if (!opts.fresh && cached && cached.generation === generation && t - cached.at < ttlMs) return cached.secrets;
      if (opts.fresh) lastFresh = t;
      const g = generation;
      cached = { at: t, generation: g, secrets: withShared(await allWhatsAppAppSecrets(ctx.database.db, ctx.keyring)) };
      return cached.secrets;
    },
    mayRefresh: () => Date.now() - lastFresh >= 1000,
    async verifyTokens() {
      const rows = await ctx.database.db.selectFrom('channel_accounts').select('secret_sealed').where('provider', '=', 'whatsapp_cloud').execute();
      const tokens: string[] = shared.verifyToken ? [shared.verifyToken] : [];
      for (const r of rows) {
        if (!r.secret_sealed) continue;
        try {
          const s = JSON.parse(ctx.keyring.decrypt(r.secret_sealed)) as WhatsAppSecrets;
          if (s.verifyToken) tokens.push(s.verifyToken);
        } catch {
          // A row sealed under another master key cannot vouch for anything: skip it.
        }
      }
      return tokens;
    },
  };
}
