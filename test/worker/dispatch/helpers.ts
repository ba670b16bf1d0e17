import { createCloudClient, type CloudClient } from '../../../src/channels/whatsapp-cloud/client.js';
import {
  startFakeCloudApi,
  type FakeCloudApi,
  type FakeCloudApiOptions,
} from '../../../src/channels/whatsapp-cloud/fake-cloud-api.js';
import type { BusinessPolicy } from '../../../src/domain/gate/policy.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import type { Database } from '../../../src/storage/db.js';
import { upsertChannelAccount } from '../../../src/storage/business/channel-store.js';
import { toMessage, type Message } from '../../../src/storage/dispatch/outbox-store.js';
import {
  startDispatchWorker,
  type DispatchWorker,
  type DispatchWorkerDeps,
} from '../../../src/worker/dispatch/index.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence } from '../../helpers/seed.js';

export const PHONE_NUMBER_ID = '106540352242922';
export const TOKEN = 'EAAG-worker-test';
export const WORKER_CONFIG = {
  enabled: true,
  pollMs: 20,
  batchSize: 100,
  leaseMs: 60_000,
  concurrency: 16,
  defaultRatePerSecond: 80,
};

export interface WorkerHarness {
  ctx: ReturnType<typeof testContext>;
  business: Awaited<ReturnType<typeof seedBusiness>>['business'];
  text: Awaited<ReturnType<typeof seedBusiness>>['text'];
  apiKey: string;
  fake: FakeCloudApi;
  cloud: CloudClient;
  worker: DispatchWorker;
  optIn(
    phone: string,
    topics?: string[],
    o?: { language?: string },
  ): Promise<{ personId: string; confirmationId: string | null; eventId: string }>;
  queue(
    phone: string,
    topic?: string,
    template?: { name: string; language: string; bodyParams?: string[]; buttonPayloads?: string[] },
  ): Promise<Message>;
  message(id: string): Promise<Message & { leaseOwner: string | null }>;
  /** Cancels the queued opt-in confirmations, so only the notifications a test queues are sent. */
  dropConfirmations(): Promise<void>;
  /** Moves the person's last inbound message to `at` (opens the 24 h window). */
  setLastInbound(personId: string, at: number | null): Promise<void>;
  close(): Promise<void>;
}

/**
 * A business with a WhatsApp number, a fake Cloud API on loopback, the real CloudClient, and a worker that
 * runs only when ticked. Pacing waits move the ManualClock instead of sleeping.
 */
export async function harness(
  database: Database,
  o: {
    policy?: Partial<BusinessPolicy>;
    fake?: FakeCloudApiOptions;
    channel?: boolean;
    worker?: Partial<DispatchWorkerDeps>;
    ratePerSecond?: number;
    name?: string;
  } = {},
): Promise<WorkerHarness> {
  const ctx = testContext(database);
  const { business, text, apiKey } = await seedBusiness(ctx, { policy: o.policy, name: o.name });
  if (o.channel !== false) {
    await upsertChannelAccount(
      ctx.database,
      ctx.keyring,
      {
        businessId: business.id,
        provider: 'whatsapp_cloud',
        externalId: `${PHONE_NUMBER_ID}-${business.id}`,
        settings: {
          phoneNumberId: `${PHONE_NUMBER_ID}`,
          ...(o.ratePerSecond ? { ratePerSecond: o.ratePerSecond } : {}),
        },
        secrets: { accessToken: TOKEN },
      },
      ctx.clock.now(),
    );
  }
  const fake = await startFakeCloudApi(o.fake);
  const cloud = createCloudClient({ baseUrl: fake.url });
  const worker = startDispatchWorker({
    ctx,
    config: WORKER_CONFIG,
    cloud,
    autoStart: false,
    random: () => 0.5,
    sleep: async (ms) => ctx.clock.advance(ms),
    ...o.worker,
  });
  return {
    ctx,
    business,
    text,
    apiKey,
    fake,
    cloud,
    worker,
    async optIn(phone, topics = ['delivery'], oo = {}) {
      const r = await recordOptIn(ctx, business.id, {
        person: { phone },
        topics,
        channel: 'web',
        action: 'checked_box',
        textHash: text.hash,
        evidence: webEvidence,
        actor: 'test',
        language: oo.language,
      });
      return { personId: r.personId, confirmationId: r.confirmationMessageId, eventId: r.event.id };
    },
    async queue(
      phone,
      topic = 'delivery',
      template = { name: 'order_update', language: 'en_US', bodyParams: ['#42'] },
    ) {
      const r = await queueMessage(ctx, business.id, { person: { phone }, topic, template });
      if (r.outcome === 'refused')
        throw new Error(`refused at enqueue: ${r.decision.reasons.map((x) => x.code).join(',')}`);
      return r.message;
    },
    async dropConfirmations() {
      await ctx.database.db
        .updateTable('messages')
        .set({ status: 'cancelled' })
        .where('business_id', '=', business.id)
        .where('kind', '=', 'confirmation')
        .execute();
    },
    async message(id) {
      const r = await ctx.database.db
        .selectFrom('messages')
        .selectAll()
        .where('business_id', '=', business.id)
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return { ...toMessage(r), leaseOwner: r.lease_owner };
    },
    async setLastInbound(personId, at) {
      await ctx.database.db
        .updateTable('people')
        .set({ last_inbound_at: at })
        .where('business_id', '=', business.id)
        .where('id', '=', personId)
        .execute();
    },
    async close() {
      await worker.stop();
      await fake.close();
    },
  };
}

/** The bodies the fake received for one of our messages (biz_opaque_callback_data = our id). */
export const sentFor = (fake: FakeCloudApi, messageId: string) =>
  fake.sent.filter((s) => s.body.biz_opaque_callback_data === messageId);
