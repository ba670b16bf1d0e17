import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { whatsappWebhookRoutes } from '../../src/http/routes/whatsapp-webhook.js';
import { whatsappChatRoutes } from '../../src/http/routes/whatsapp-chat.js';
import { metaJson } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../../src/channels/whatsapp-cloud/signature.js';
import { createInboxProcessor, type InboxProcessor } from '../../src/services/inbox-processor.js';
import { putWhatsAppChannel } from '../../src/services/manage-whatsapp-channel.js';
import type { BusinessPolicy } from '../../src/domain/policy.js';
import type { Database } from '../../src/storage/db.js';
import { testContext } from './context.js';
import { seedBusiness } from './seed.js';

export const SHARED_SECRET = 'shared-app-secret';
export const SHARED_VERIFY = 'shared-verify-token';

let numbers = 0;

export interface WaTestApp {
  app: FastifyInstance;
  ctx: ReturnType<typeof testContext>;
  processor: InboxProcessor;
  /** POSTs an envelope as Meta does: Meta-style bytes, signed with `secret` (null: unsigned). */
  post(envelope: object, secret?: string | null): Promise<LightMyRequestResponse>;
  /** POST then process everything stored. */
  deliver(envelope: object, secret?: string | null): Promise<LightMyRequestResponse>;
  /** A business with a WhatsApp number (its own app secret and verify token) and two utility topics. */
  business(o?: { policy?: Partial<BusinessPolicy>; name?: string }): Promise<Awaited<ReturnType<typeof seedBusiness>> & { phoneNumberId: string; appSecret: string; verifyToken: string }>;
  close(): Promise<void>;
}

export async function buildWaTestApp(database: Database): Promise<WaTestApp> {
  const ctx = testContext(database);
  const processor = createInboxProcessor(ctx);
  const app = await buildApp({
    ctx,
    config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: 'http://localhost:8080' },
    plugins: [
      async (a) => {
        await a.register(whatsappWebhookRoutes(ctx, { sharedAppSecret: SHARED_SECRET, sharedVerifyToken: SHARED_VERIFY, bodyLimitBytes: 4 * 1024 * 1024, processor }));
      },
      async (a) => {
        await a.register(whatsappChatRoutes(ctx));
      },
    ],
  });
  await app.ready();
  const post: WaTestApp['post'] = (envelope, secret = SHARED_SECRET) => {
    const raw = metaJson(envelope);
    return app.inject({
      method: 'POST', url: '/webhooks/whatsapp', payload: raw,
      headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'x-hub-signature-256': signMetaBody(raw, secret) }) },
    });
  };
  return {
    app, ctx, processor, post,
    async deliver(envelope, secret) {
      const r = await post(envelope, secret);
      await processor.drain();
      return r;
    },
    async business(o = {}) {
      const seeded = await seedBusiness(ctx, o);
      const n = ++numbers;
      const phoneNumberId = `1065403522${String(n).padStart(5, '0')}${Math.floor(Math.random() * 1000)}`;
      const appSecret = `own-secret-${n}`;
      const verifyToken = `own-verify-${n}`;
      await putWhatsAppChannel(ctx, seeded.business.id, { phoneNumberId, accessToken: `token-${n}`, appSecret, verifyToken });
      return { ...seeded, phoneNumberId, appSecret, verifyToken };
    },
    async close() {
      await app.close();
      await processor.stop();
    },
  };
}
