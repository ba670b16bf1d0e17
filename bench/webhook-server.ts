// Child process for the webhook benchmark: the real app with the WhatsApp webhook route and inbox processor
// on a fresh database, and a bare Fastify route that accepts the same JSON body and answers 200.
import Fastify from 'fastify';
import { buildApp } from '../src/http/app.js';
import { startInboxProcessor } from '../src/worker/inbox/processor.js';
import { putWhatsAppChannel } from '../src/services/admin/manage-whatsapp-channel.js';
import { startCacheWatch } from '../src/services/admin/cache-watch.js';
import { openBenchDb } from './lib.js';
import { seedPeople } from './gate.js';

const dialect = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgres';
const SECRET = 'bench-app-secret';
const database = await openBenchDb(dialect, 10);
const { ctx, businessId } = await seedPeople(database, 10);
await putWhatsAppChannel(ctx, businessId, { phoneNumberId: 'bench-pn', accessToken: 'x', appSecret: SECRET });
// As every serve runs it: routes and keys are remembered while it reads the shared cache versions.
const cacheWatch = startCacheWatch(ctx);
const inbox = process.env.BENCH_NO_PROCESS
  ? ({
      enqueue() {},
      async stop() {},
      async drain() {},
      async runOnce() {
        return 0;
      },
    } as unknown as ReturnType<typeof startInboxProcessor>)
  : startInboxProcessor(ctx);
const app = await buildApp({
  ctx,
  config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl: 'http://127.0.0.1' },
  whatsapp: { sharedAppSecret: null, sharedVerifyToken: null, processor: inbox },
});
await app.listen({ host: '127.0.0.1', port: 0 });
const bare = Fastify({ bodyLimit: 4 << 20 });
bare.post('/bare', async () => ({ ok: true }));
await bare.listen({ host: '127.0.0.1', port: 0 });
const port = (s: { server: { address(): unknown } }) => (s.server.address() as { port: number }).port;
process.stdout.write(`${JSON.stringify({ app: port(app), bare: port(bare), secret: SECRET })}\n`);
process.stdin.on('data', () => {});
process.stdin.on('end', async () => {
  await app.close();
  await bare.close();
  await inbox.stop();
  await cacheWatch.stop();
  await database.close();
  process.exit(0);
});
