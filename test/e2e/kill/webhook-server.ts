// A real Optline webhook server for the kill test: SQLite file, the WhatsApp webhook plugin and the inbox
// processor with its recovery loop, listening on 127.0.0.1. Stand-in until `optline serve` wires both in.
// Usage: node --import tsx test/e2e/kill/webhook-server.ts <sqlite-file> <master-key-hex> <shared-app-secret>
import { buildApp } from '../../../src/http/app.js';
import { startInboxProcessor } from '../../../src/worker/inbox/processor.js';
import { systemClock } from '../../../src/lib/clock.js';
import { createKeyring } from '../../../src/lib/crypto.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { openSqlite } from '../../../src/storage/db.js';
import { migrateToLatest } from '../../../src/storage/migrate.js';

const [file, keyHex, secret] = process.argv.slice(2);
if (!file || !keyHex || !secret)
  throw new Error('usage: webhook-server.ts <sqlite-file> <master-key-hex> <shared-app-secret>');
const database = openSqlite(file);
await migrateToLatest(database);
const ctx = {
  database,
  clock: systemClock,
  keyring: createKeyring(Buffer.from(keyHex, 'hex')),
  logger: silentLogger(),
};
const processor = startInboxProcessor(ctx, { pollMs: 100, graceMs: 300 });
const app = await buildApp({
  ctx,
  config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: 'http://127.0.0.1' },
  whatsapp: { sharedAppSecret: secret, sharedVerifyToken: null, processor },
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`LISTENING ${address}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => processor.stop())
    .then(() => database.close())
    .then(() => process.exit(0));
});
