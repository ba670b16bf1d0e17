import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createCloudClient } from './channels/whatsapp-cloud/client.js';
import { SANDBOX_APP_SECRET } from './channels/whatsapp-cloud/sandbox.js';
import { buildApp } from './http/app.js';
import { startInboxProcessor } from './worker/inbox/processor.js';
import { startHousekeeping } from './worker/housekeeping.js';
import { startLease } from './worker/lease.js';
import { startCacheWatch } from './services/admin/cache-watch.js';
import { startWebhookDeliveryWorker } from './worker/webhooks/delivery-worker.js';
import { startImportJobRunner } from './worker/import/job-runner.js';
import type { ServiceContext } from './services/context.js';
import { seedDemoIfEmpty, type DemoSeed } from './services/admin/seed-demo.js';
import { connectToSandbox, startSandbox } from './sandbox.js';
import { startDispatchWorker } from './worker/dispatch/index.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  sandboxUrl: string | null;
  stop(): Promise<void>;
}

export interface ServerOptions {
  config: Readonly<Config>;
  ctx: ServiceContext;
  /** Laptop mode: seed a demo business on an empty database. */
  demo: boolean;
  /** Send WhatsApp to the built-in fake Cloud API instead of Meta. */
  sandbox: boolean;
  worker: boolean;
}

/**
 * The composition root of a running process: HTTP (API, webhooks, pages), the webhook inbox processor, the
 * dispatch worker and, in laptop mode, the sandbox provider; and a graceful stop that drains them in order.
 */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const { config, ctx } = o;
  const stoppers: (() => Promise<void>)[] = [];
  const sandboxSecret = config.whatsapp.appSecret ?? SANDBOX_APP_SECRET;
  // One inbox processor and one housekeeping per database: each runs where its lease is held (worker/lease.ts);
  // the leases are released after their loops stopped, so another process takes over at its next try.
  const leases = { inboxProcessor: startLease(ctx, 'inbox-processor'), housekeeping: startLease(ctx, 'housekeeping') };
  stoppers.push(
    () => leases.inboxProcessor.stop(),
    () => leases.housekeeping.stop(),
  );
  const inbox = startInboxProcessor(ctx, { lease: leases.inboxProcessor });
  stoppers.push(() => inbox.stop());
  const housekeeping = startHousekeeping(ctx, {
    inboxRetentionDays: config.inboxRetentionDays,
    lease: leases.housekeeping,
  });
  stoppers.push(() => housekeeping.stop());
  // A key revoked, or a channel changed, through any process is seen here within CACHE_WATCH_BOUND_MS.
  const cacheWatch = startCacheWatch(ctx);
  stoppers.push(() => cacheWatch.stop());
  // Outbound consent webhooks: any number of processes may run this loop (claims are atomic).
  const webhooksOut = startWebhookDeliveryWorker(ctx, { allowPrivate: config.webhooksAllowPrivate });
  stoppers.push(() => webhooksOut.stop());
  // Imports uploaded through the API run here, taken from the import_jobs table (a restart takes them again).
  const imports = startImportJobRunner(ctx);
  stoppers.push(() => imports.stop());

  const app = await buildApp({
    ctx,
    config,
    logger: ctx.logger,
    // In sandbox mode the fake Cloud API signs its status webhooks with the sandbox secret.
    whatsapp: { processor: inbox, sharedAppSecret: o.sandbox ? sandboxSecret : config.whatsapp.appSecret },
    leases,
    imports,
  });
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;

  let apiUrl = config.whatsapp.apiUrl;
  let sandboxUrl: string | null = null;
  if (o.sandbox) {
    const fake = await startSandbox(`${url}/webhooks/whatsapp`, sandboxSecret);
    stoppers.push(() => fake.close());
    apiUrl = fake.url;
    sandboxUrl = fake.url;
  }

  if (o.demo) {
    const seed = await seedDemoIfEmpty(ctx);
    if (seed) {
      if (o.sandbox) await connectToSandbox(ctx, seed.businessId, sandboxSecret);
      announceDemo(config, url, seed);
    }
  }

  if (o.worker) {
    const worker = startDispatchWorker({
      ctx,
      config: { ...config.worker, defaultRatePerSecond: config.whatsapp.defaultRatePerSecond },
      cloud: createCloudClient({ baseUrl: apiUrl, version: config.whatsapp.apiVersion }),
    });
    // The worker stops before the inbox and the sandbox so its last outcomes are still recorded.
    stoppers.push(() => worker.stop());
  }

  let stopped = false;
  return {
    app,
    url,
    sandboxUrl,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Stop taking requests first, then let the workers finish what they hold, then close the database.
      await app.close();
      for (const s of stoppers.reverse()) await s();
      await ctx.database.close();
    },
  };
}

/**
 * The dispatch worker alone (`optline worker`). With OPTLINE_SANDBOX=true it sends to a sandbox provider of its
 * own (the fake Cloud API, posting its status webhooks to OPTLINE_PUBLIC_URL), never to Meta: a sandbox setting
 * must hold for every process that sends, not only for the one that serves HTTP.
 */
export async function startWorkerOnly(config: Readonly<Config>, ctx: ServiceContext) {
  let apiUrl = config.whatsapp.apiUrl;
  let sandbox: { url: string; close(): Promise<void> } | null = null;
  if (config.sandbox === true) {
    sandbox = await startSandbox(
      `${config.publicUrl}/webhooks/whatsapp`,
      config.whatsapp.appSecret ?? SANDBOX_APP_SECRET,
    );
    apiUrl = sandbox.url;
  }
  const worker = startDispatchWorker({
    ctx,
    config: { ...config.worker, defaultRatePerSecond: config.whatsapp.defaultRatePerSecond },
    cloud: createCloudClient({ baseUrl: apiUrl, version: config.whatsapp.apiVersion }),
  });
  return {
    workerId: worker.workerId,
    /** Where this worker sends WhatsApp messages: Meta's Graph API, or its sandbox. */
    apiUrl,
    sandbox: sandbox !== null,
    async stop() {
      await worker.stop();
      // What this worker did in its life: claims, start steps and outcome commits per message tell its batching.
      ctx.logger.info({ workerId: worker.workerId, ...worker.metrics() }, 'dispatch worker stopped');
      await sandbox?.close();
    },
  };
}

function announceDemo(config: Readonly<Config>, url: string, seed: DemoSeed) {
  const file = join(config.dataDir, 'demo-credentials.txt');
  const text = [
    'Optline demo business (created on first start; these keys are shown once):',
    `  business slug:   ${seed.slug}`,
    `  business key:    ${seed.businessKey}`,
    `  admin key:       ${seed.adminKey}`,
    `  opt-in text:     ${seed.textHash}`,
    `  API docs:        ${url}/docs`,
    '',
  ].join('\n');
  writeFileSync(file, text, { mode: 0o600 });
  process.stdout.write(`\n${text}  (also saved to ${file}; delete it once you have stored the keys)\n\n`);
}
