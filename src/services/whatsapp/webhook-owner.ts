import type { WebhookRoutingKeys } from '../../domain/inbound.js';
import { findWhatsAppAccounts, findWhatsAppAccountsByWaba } from '../../storage/business/channel-store.js';
import type { ServiceContext } from '../context.js';

/**
 * Who may sign a WhatsApp webhook body: the app that owns every phone number in it.
 *
 * Meta signs each POST with the secret of the app the numbers are subscribed to. A business that brings its own
 * app owns its numbers' webhooks alone; numbers without their own app (and numbers not configured here) belong
 * to the platform's shared app. A body is accepted only when ONE secret owns all of it, and only that secret is
 * tried: a business can choose its own app secret, so a secret that matches must never be allowed to speak for
 * a number it does not own (the cross-tenant forgery), and a refused POST costs one HMAC, however many
 * businesses are configured.
 */
export type WebhookOwner =
  | { ok: true; secret: string; routes: ReadonlyMap<string, string> }
  | { ok: false; reason: 'NO_OWNER_SECRET' | 'MIXED_OWNERS'; detail: string };

export async function resolveWebhookOwner(
  ctx: ServiceContext,
  keys: WebhookRoutingKeys,
  sharedAppSecret: string | null,
): Promise<WebhookOwner> {
  const pnids = keys.phoneNumberIds;
  const routes = new Map<string, string>();
  // Each routing key's owner's secret: an account's own app secret, or the shared app's.
  const owners: (string | null)[] = [];
  if (pnids.length > 0) {
    const accounts = await findWhatsAppAccounts(ctx.database, ctx.keyring, pnids);
    const byPnid = new Map(accounts.map((a) => [a.externalId, a]));
    for (const pnid of pnids) {
      const a = byPnid.get(pnid);
      if (a) routes.set(pnid, a.businessId);
      owners.push(a?.secrets?.appSecret || sharedAppSecret);
    }
  } else {
    // No phone number at all (account or template updates): the WABA in entry[].id says whose app it is.
    const accounts = await findWhatsAppAccountsByWaba(ctx.database.db, ctx.keyring, keys.wabaIds);
    const own = accounts.map((a) => a.secrets?.appSecret).filter((s): s is string => Boolean(s));
    owners.push(...(own.length > 0 ? own : [sharedAppSecret]));
    // Quality and template updates name only the WABA: routed (`waba:<id>`) to the one business whose number on
    // that WABA belongs to the app whose secret will be checked; none, or several, and they stay unroutable.
    const secret = own.length > 0 ? own[0] : sharedAppSecret;
    for (const waba of keys.wabaIds) {
      const on = new Set(
        accounts
          .filter((a) => a.settings.wabaId === waba && (a.secrets?.appSecret || sharedAppSecret) === secret)
          .map((a) => a.businessId),
      );
      if (on.size === 1) routes.set(`waba:${waba}`, [...on][0]!);
    }
  }
  const secrets = new Set(owners);
  if (secrets.size > 1) {
    return {
      ok: false,
      reason: 'MIXED_OWNERS',
      detail: 'The body carries phone numbers of different Meta apps, and one signature cannot vouch for them all.',
    };
  }
  const [secret] = [...secrets];
  if (!secret) {
    return {
      ok: false,
      reason: 'NO_OWNER_SECRET',
      detail:
        "No app secret is configured for the phone numbers in this body (set OPTLINE_META_APP_SECRET, or the business's own appSecret).",
    };
  }
  return { ok: true, secret, routes };
}
