import { startFakeCloudApi, type FakeCloudApi } from './channels/whatsapp-cloud/fake-cloud-api.js';
import { SANDBOX_APP_SECRET, SANDBOX_PHONE_NUMBER_ID } from './channels/whatsapp-cloud/sandbox.js';
import { putWhatsAppChannel } from './services/admin/manage-whatsapp-channel.js';
import type { ServiceContext } from './services/context.js';

/**
 * The sandbox WhatsApp provider of `npm start`: the fake Cloud API (a real HTTP server on loopback speaking
 * Meta's format) receives what the worker sends and answers with signed status webhooks to our own webhook
 * route, exactly as Meta would. Nothing leaves the machine until real credentials are configured.
 */
export async function startSandbox(webhookUrl: string, appSecret: string): Promise<FakeCloudApi> {
  return startFakeCloudApi({
    webhook: { url: webhookUrl, appSecret, statuses: ['sent', 'delivered', 'read'], delayMs: 50 },
    sentCap: 10_000,
  });
}

/** Points a business (the demo) at the sandbox number. */
export async function connectToSandbox(
  ctx: ServiceContext,
  businessId: string,
  appSecret: string = SANDBOX_APP_SECRET,
): Promise<void> {
  await putWhatsAppChannel(ctx, businessId, {
    phoneNumberId: SANDBOX_PHONE_NUMBER_ID,
    displayPhoneNumber: '15550000000',
    accessToken: 'sandbox',
    appSecret,
  });
}
