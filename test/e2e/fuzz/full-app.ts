import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/http/app.js';
import { createApiKey } from '../../../src/services/admin/manage-keys.js';
import type { Logger } from '../../../src/lib/logger.js';
import type { Database } from '../../../src/storage/db.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../../../src/channels/twilio/fake-twilio-api.js';
import { testContext } from '../../helpers/context.js';
import { ACCOUNT_SID, AUTH_TOKEN } from '../../http/capture/helpers.js';

export const FULL_PUBLIC_URL = 'https://optline.example';
export const FULL_SHARED_SECRET = 'fuzz-shared-app-secret';

export interface FullApp {
  app: FastifyInstance;
  ctx: ReturnType<typeof testContext>;
  adminKey: string;
  /** The loopback Twilio the SMS and voice channels talk to (account ACCOUNT_SID, token AUTH_TOKEN). */
  twilio: FakeTwilioApi;
  close(): Promise<void>;
}

/**
 * Every route main.ts registers (API, webhooks, chat, pages, console), built the same way, never listening.
 * Twilio is a real loopback fake, so an SMS or a call goes the whole way (a provider failure is not input's).
 */
export async function buildFullApp(database: Database, opts: { logger?: Logger } = {}): Promise<FullApp> {
  const ctx = testContext(database);
  const twilio = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  const app = await buildApp({
    ctx,
    config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: FULL_PUBLIC_URL },
    ...(opts.logger ? { logger: opts.logger } : {}),
    whatsapp: { sharedAppSecret: FULL_SHARED_SECRET, sharedVerifyToken: 'fuzz-verify' },
    capture: { twilioApiUrl: twilio.url, smtp: { url: null, from: 'Optline <no-reply@optline.example>' } },
  });
  await app.ready();
  const adminKey = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
  return {
    app,
    ctx,
    adminKey,
    twilio,
    close: async () => {
      await app.close();
      await twilio.close();
    },
  };
}
