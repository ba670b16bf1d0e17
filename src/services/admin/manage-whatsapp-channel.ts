import { fail } from '../../domain/errors.js';
import { isUniqueViolation } from '../../storage/db.js';
import {
  getChannelAccount,
  upsertChannelAccount,
  type ChannelAccount,
  type WhatsAppSecrets,
  type WhatsAppSettings,
} from '../../storage/business/channel-store.js';
import type { ServiceContext } from '../context.js';

export type WhatsAppChannelInput = WhatsAppSettings & WhatsAppSecrets;

/** What the API shows of a channel: its settings and which secrets are set, never the secrets. */
export interface WhatsAppChannelView extends WhatsAppSettings {
  hasAccessToken: boolean;
  hasAppSecret: boolean;
  hasVerifyToken: boolean;
  createdAt: number;
  updatedAt: number;
}

const view = (a: ChannelAccount<WhatsAppSettings, WhatsAppSecrets>): WhatsAppChannelView => ({
  phoneNumberId: a.settings.phoneNumberId,
  ...(a.settings.wabaId ? { wabaId: a.settings.wabaId } : {}),
  ...(a.settings.displayPhoneNumber ? { displayPhoneNumber: a.settings.displayPhoneNumber } : {}),
  ...(a.settings.ratePerSecond ? { ratePerSecond: a.settings.ratePerSecond } : {}),
  hasAccessToken: Boolean(a.secrets?.accessToken),
  hasAppSecret: Boolean(a.secrets?.appSecret),
  hasVerifyToken: Boolean(a.secrets?.verifyToken),
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

/** Sets the business's WhatsApp number and credentials (a full replacement: secrets left out are removed). */
export async function putWhatsAppChannel(
  ctx: ServiceContext,
  businessId: string,
  input: WhatsAppChannelInput,
): Promise<WhatsAppChannelView> {
  const settings: WhatsAppSettings = { phoneNumberId: input.phoneNumberId };
  if (input.wabaId) settings.wabaId = input.wabaId;
  if (input.displayPhoneNumber) settings.displayPhoneNumber = input.displayPhoneNumber;
  if (input.ratePerSecond) settings.ratePerSecond = input.ratePerSecond;
  const secrets: WhatsAppSecrets = { accessToken: input.accessToken };
  if (input.appSecret) secrets.appSecret = input.appSecret;
  if (input.verifyToken) secrets.verifyToken = input.verifyToken;
  try {
    const a = await upsertChannelAccount(
      ctx.database,
      ctx.keyring,
      { businessId, provider: 'whatsapp_cloud', externalId: input.phoneNumberId, settings, secrets },
      ctx.clock.now(),
    );
    return view(a as unknown as ChannelAccount<WhatsAppSettings, WhatsAppSecrets>);
  } catch (e) {
    // Webhooks are routed by phone_number_id, so one number belongs to one business.
    if (isUniqueViolation(e))
      fail('CONFLICT', 'This phone_number_id is already configured for another business.', 'phoneNumberId');
    throw e;
  }
}

export async function getWhatsAppChannel(ctx: ServiceContext, businessId: string): Promise<WhatsAppChannelView> {
  const a = await getChannelAccount<WhatsAppSettings, WhatsAppSecrets>(
    ctx.database.db,
    ctx.keyring,
    businessId,
    'whatsapp_cloud',
  );
  if (!a)
    return fail('NOT_FOUND', 'WhatsApp is not configured for this business: PUT /v1/channels/whatsapp.', 'channel');
  return view(a);
}
