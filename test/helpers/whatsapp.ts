import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { metaJson } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../../src/channels/whatsapp-cloud/signature.js';
import { createInboxProcessor, type InboxProcessor } from '../../src/worker/inbox/processor.js';
import { putWhatsAppChannel } from '../../src/services/admin/manage-whatsapp-channel.js';
import type { BusinessPolicy } from '../../src/domain/gate/policy.js';
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
  /**
   * POSTs an envelope as Meta does: Meta-style bytes, signed with `secret` (null: unsigned). By default it is
   * signed as Meta would: with the own app secret of the business that owns its phone number, else the shared one.
   */
  post(envelope: object, secret?: string | null): Promise<LightMyRequestResponse>;
  /** POST then process everything stored. */
  deliver(envelope: object, secret?: string | null): Promise<LightMyRequestResponse>;
  /**
   * A business with a WhatsApp number and two utility topics. By default the number is on the business's own
   * Meta app (its own app secret and verify token); `sharedApp: true` puts it on the platform's shared app.
   */
  business(o?: {
    policy?: Partial<BusinessPolicy>;
    name?: string;
    sharedApp?: boolean;
  }): Promise<
    Awaited<ReturnType<typeof seedBusiness>> & { phoneNumberId: string; appSecret: string; verifyToken: string }
  >;
  close(): Promise<void>;
}

export async function buildWaTestApp(database: Database): Promise<WaTestApp> {
  const ctx = testContext(database);
  const processor = createInboxProcessor(ctx);
  const app = await buildApp({
    ctx,
    config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: 'http://localhost:8080' },
    whatsapp: { sharedAppSecret: SHARED_SECRET, sharedVerifyToken: SHARED_VERIFY, processor },
  });
  await app.ready();
  const ownSecrets = new Map<string, string>();
  const ownerSecret = (envelope: object): string => {
    for (const pnid of phoneNumberIdsOf(envelope)) {
      const s = ownSecrets.get(pnid);
      if (s) return s;
    }
    return SHARED_SECRET;
  };
  const post: WaTestApp['post'] = (envelope, given) => {
    const secret = given === undefined ? ownerSecret(envelope) : given;
    const raw = metaJson(envelope);
    return app.inject({
      method: 'POST',
      url: '/webhooks/whatsapp',
      payload: raw,
      headers: {
        'content-type': 'application/json',
        ...(secret === null ? {} : { 'x-hub-signature-256': signMetaBody(raw, secret) }),
      },
    });
  };
  return {
    app,
    ctx,
    processor,
    post,
    async deliver(envelope, secret) {
      const r = await post(envelope, secret);
      await processor.drain();
      return r;
    },
    async business(o = {}) {
      const seeded = await seedBusiness(ctx, o);
      const n = ++numbers;
      const phoneNumberId = `1065403522${String(n).padStart(5, '0')}${Math.floor(Math.random() * 1000)}`;
      const verifyToken = `own-verify-${n}`;
      if (o.sharedApp) {
        await putWhatsAppChannel(ctx, seeded.business.id, { phoneNumberId, accessToken: `token-${n}`, verifyToken });
        return { ...seeded, phoneNumberId, appSecret: SHARED_SECRET, verifyToken };
      }
      const appSecret = `own-secret-${n}`;
      await putWhatsAppChannel(ctx, seeded.business.id, {
        phoneNumberId,
        accessToken: `token-${n}`,
        appSecret,
        verifyToken,
      });
      ownSecrets.set(phoneNumberId, appSecret);
      return { ...seeded, phoneNumberId, appSecret, verifyToken };
    },
    async close() {
      await app.close();
      await processor.stop();
    },
  };
}

/** Every metadata.phone_number_id in an envelope (entry[].changes[].value.metadata). */
export function phoneNumberIdsOf(envelope: object): string[] {
  const out: string[] = [];
  const entries = (envelope as { entry?: unknown }).entry;
  for (const e of Array.isArray(entries) ? entries : []) {
    for (const c of Array.isArray(e?.changes) ? e.changes : []) {
      const id = c?.value?.metadata?.phone_number_id;
      if (typeof id === 'string') out.push(id);
    }
  }
  return out;
}
