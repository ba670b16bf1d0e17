// `optline worker` started alone must honour OPTLINE_SANDBOX=true: it sends to a sandbox provider of its own and
// never to the configured Graph API URL (here a loopback server standing in for Meta, counting what reaches it).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { openSqlite } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { createKeyring } from '../../src/lib/crypto.js';
import { silentLogger } from '../../src/lib/logger.js';
import { systemClock } from '../../src/lib/clock.js';
import { putWhatsAppChannel } from '../../src/services/admin/manage-whatsapp-channel.js';
import { seedBusiness, webOptIn } from '../helpers/seed.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

it('optline worker alone with OPTLINE_SANDBOX=true sends to its own sandbox, never to the Graph API URL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optline-worker-sandbox-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const key = randomBytes(32);
  let metaCalls = 0;
  const meta = createServer((req, res) => {
    metaCalls++;
    req.resume();
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => meta.listen(0, '127.0.0.1', () => r()));
  const metaUrl = `http://127.0.0.1:${(meta.address() as { port: number }).port}`;

  const database = openSqlite(join(dataDir, 'optline.db'));
  const child = { proc: null as ReturnType<typeof spawn> | null };
  try {
    await migrateToLatest(database);
    const ctx = { database, clock: systemClock, keyring: createKeyring(key), logger: silentLogger() };
    const seeded = await seedBusiness(ctx, {
      policy: { confirmationTemplate: { name: 'optin_confirm_v1', language: 'en_US' } },
    });
    await putWhatsAppChannel(ctx, seeded.business.id, {
      phoneNumberId: '106540352242922',
      accessToken: 'real-looking-token',
    });
    await webOptIn(ctx, seeded.business.id, seeded.text.hash, { phone: '+447911123456' });

    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'worker'], {
      env: {
        PATH: process.env.PATH ?? '',
        OPTLINE_LOG_LEVEL: 'silent',
        OPTLINE_DATA_DIR: dataDir,
        OPTLINE_MASTER_KEY: key.toString('base64'),
        OPTLINE_SANDBOX: 'true',
        OPTLINE_WHATSAPP_API_URL: metaUrl,
        OPTLINE_PUBLIC_URL: 'http://127.0.0.1:9',
        OPTLINE_WORKER_POLL_MS: '20',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.proc = proc;
    const banner = await new Promise<string>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
      createInterface({ input: proc.stdout! }).once('line', resolve);
    });
    assert.match(banner, /sandbox provider at http:\/\/127\.0\.0\.1:\d+, nothing reaches Meta/);

    // Progress, not time: wait until the worker has decided the confirmation (bounded number of looks).
    let status = 'queued';
    let detail = '';
    for (let i = 0; i < 600 && (status === 'queued' || status === 'claimed' || status === 'sending'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      const row = await database.db
        .selectFrom('messages')
        .select(['status', 'error_code', 'error_detail'])
        .where('business_id', '=', seeded.business.id)
        .where('kind', '=', 'confirmation')
        .executeTakeFirst();
      status = row?.status ?? 'missing';
      detail = `${row?.error_code} ${row?.error_detail}`;
    }
    assert.equal(status, 'sent', `the confirmation went to the sandbox (${detail})`);
    assert.equal(metaCalls, 0, 'nothing reached the Graph API URL');
  } finally {
    child.proc?.kill('SIGTERM');
    if (child.proc && child.proc.exitCode === null) await new Promise((r) => child.proc!.once('exit', r));
    await database.close();
    await new Promise((r) => meta.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
