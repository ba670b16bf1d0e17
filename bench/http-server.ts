// Child process for the HTTP benchmarks: the real app (on a fresh database of the given dialect, seeded) and a
// bare Fastify route returning a constant, in the same process, so both are measured under the same load
// generator from outside.
import Fastify from 'fastify';
import { buildApp } from '../src/http/app.js';
import { createApiKey } from '../src/services/admin/manage-keys.js';
import { openBenchDb } from './lib.js';
import { phoneOf, seedPeople } from './gate.js';
import { opsPerSecond } from './lib.js';
import { decideSend } from '../src/services/dispatch/decide-send.js';

const dialect = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgres';
const database = await openBenchDb(dialect, 10);
const { ctx, businessId } = await seedPeople(database, 1000);
const key = (await createApiKey(ctx, { businessId, name: 'bench' })).key;
// The floor of the batch figure: the in-process gate on this database, measured here before any load arrives.
const conc = database.sqlite ? 1 : 4;
const gateMs = Number(process.argv[3] ?? 2000);
const gate = await opsPerSecond(
  (i) => decideSend(ctx, businessId, { person: { phone: phoneOf(i % 1000) }, topic: 'delivery' }),
  gateMs,
  conc,
);
const app = await buildApp({
  ctx,
  config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl: 'http://127.0.0.1' },
});
await app.listen({ host: '127.0.0.1', port: 0 });
const bare = Fastify();
bare.post('/bare', async () => ({ outcome: 'allow' }));
await bare.listen({ host: '127.0.0.1', port: 0 });
const port = (s: { server: { address(): unknown } }) => (s.server.address() as { port: number }).port;
process.stdout.write(`${JSON.stringify({ app: port(app), bare: port(bare), key, gate })}\n`);
process.stdin.on('data', () => {});
process.stdin.on('end', async () => {
  await app.close();
  await bare.close();
  await database.close();
  process.exit(0);
});
