import type { WhatsAppSecrets } from '../../storage/business/channel-store.js';
import type { ServiceContext } from '../context.js';

export interface WebhookSecrets {
  /** Verify tokens for the GET handshake (read on each handshake: it is rare). */
  verifyTokens(): Promise<string[]>;
}

/**
 * The verify tokens WhatsApp's GET handshake is checked against: the shared app's and every business's own.
 * (A POST's signature is checked against the one secret that owns its numbers: services/whatsapp/webhook-owner.ts.)
 */
export function createWebhookSecrets(ctx: ServiceContext, shared: { verifyToken: string | null }): WebhookSecrets {
  return {
    async verifyTokens() {
      const rows = await ctx.database.db
        .selectFrom('channel_accounts')
        .select('secret_sealed')
        .where('provider', '=', 'whatsapp_cloud')
        .execute();
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
