// Opt-out timing against `optline serve` as a real process, with the fake Cloud API in this process (its arrival
// times and the STOPs' 200s are read on one clock):
// - "STOP acknowledged → last provider call": for each person who sends STOP while their notifications are being
//   dispatched, the last provider call for them (the STOP's own acknowledgement aside) minus the moment this
//   process received the STOP's 200. The worst person is reported; it must be ≤ 0 ms.
// - "STOP in a status flood → ledger event": STOPs sent while status receipts are posted flat out; the time from
//   sending each STOP to its consent event's recorded_at (same machine clock), p50 and p99. Target p99 ≤ 1 s.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { openPostgres, openSqlite, type Database, type Dialect_ } from '../src/storage/db.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import { createKeyring } from '../src/lib/crypto.js';
import { silentLogger } from '../src/lib/logger.js';
import { systemClock } from '../src/lib/clock.js';
import { createBusiness } from '../src/services/admin/manage-businesses.js';
import { createTopic } from '../src/services/admin/manage-topics.js';
import { registerText } from '../src/services/admin/manage-texts.js';
import { putWhatsAppChannel } from '../src/services/admin/manage-whatsapp-channel.js';
import { recordOptIn } from '../src/services/consent/record-opt-in.js';
import { queueMessage } from '../src/services/dispatch/queue-message.js';
import { startFakeCloudApi } from '../src/channels/whatsapp-cloud/fake-cloud-api.js';
import {
  batch,
  inboundText,
  metaJson,
  randomWamid,
  statusUpdate,
} from '../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../src/channels/whatsapp-cloud/signature.js';
import type { ExtraBench } from './extra.js';
import { BENCH_PG_URL, figure, type Figure } from './lib.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;
const SECRET = 'bench-optout-secret';
const PNID = '106540352240001';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function freshDatabase(
  dialect: Dialect_,
  dir: string,
): Promise<{ database: Database; env: Record<string, string>; reopen(): Database; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const file = join(dir, 'optline.db');
    return {
      database: openSqlite(file),
      env: { OPTLINE_DATA_DIR: dir },
      reopen: () => openSqlite(file),
      drop: async () => {},
    };
  }
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(BENCH_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    database: openPostgres(BENCH_PG_URL, { schema, poolSize: 4 }),
    env: { OPTLINE_DATA_DIR: dir, DATABASE_URL: url.toString() },
    reopen: () => openPostgres(BENCH_PG_URL, { schema, poolSize: 2 }),
    drop: async () => {
      const c = new pg.Client({ connectionString: BENCH_PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

function startServe(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('optline serve did not come up within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`optline serve exited early (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('Optline is running at')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(child);
      }
    });
  });
}

/** POSTs one signed envelope; resolves with the time the 200's headers arrived. */
async function post(url: string, envelope: object): Promise<number> {
  const raw = metaJson(envelope);
  const r = await fetch(url, {
    method: 'POST',
    body: raw,
    signal: AbortSignal.timeout(15_000),
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, SECRET) },
  });
  const at = Date.now();
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`bench: webhook answered ${r.status}`);
  return at;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchOptOut(dialect: Dialect_, o: { quick: boolean }): Promise<Figure[]> {
  const people = o.quick ? 40 : 60;
  const perPerson = 10;
  const floodStops = o.quick ? 40 : 100;
  const dir = mkdtempSync(join(tmpdir(), 'optline-bench-optout-'));
  const masterKey = randomBytes(32);
  const port = await freePort();
  const hook = `http://127.0.0.1:${port}/webhooks/whatsapp`;
  const fake = await startFakeCloudApi({
    webhook: { url: hook, appSecret: SECRET, statuses: ['sent', 'delivered', 'read'], concurrency: 8 },
  });
  const db = await freshDatabase(dialect, dir);
  let child: ChildProcess | null = null;
  try {
    const r = await migrateToLatest(db.database);
    if (r.error) throw new Error(r.error);
    const ctx = {
      database: db.database,
      clock: systemClock,
      keyring: createKeyring(masterKey),
      logger: silentLogger(),
    };
    const b = await createBusiness(ctx, {
      slug: 'bench-optout',
      displayName: 'Bench Shop',
      policy: { frequencyCaps: [] },
    });
    await createTopic(ctx, b.id, { key: 'delivery', name: 'delivery updates', category: 'utility' });
    const text = await registerText(ctx, b.id, {
      name: 'd',
      language: 'en',
      topicKeys: ['delivery'],
      body: 'Yes, send me delivery updates from Bench Shop on WhatsApp. Reply STOP at any time to opt out.',
    });
    await putWhatsAppChannel(ctx, b.id, { phoneNumberId: PNID, accessToken: 'token', appSecret: SECRET });
    const digits = Array.from({ length: people }, (_, i) => `447911${200000 + i}`);
    for (const d of digits) {
      await recordOptIn(ctx, b.id, {
        person: { phone: `+${d}` },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.hash,
        evidence: { ip: '203.0.113.7', userAgent: 'bench', pageUrl: 'https://bench.example/' },
        actor: 'bench',
      });
    }
    for (let round = 0; round < perPerson; round++) {
      for (const d of digits)
        await queueMessage(ctx, b.id, {
          person: { phone: `+${d}` },
          topic: 'delivery',
          template: { name: 'order_update', language: 'en', bodyParams: [String(round)] },
        });
    }
    await db.database.close();
    child = await startServe({
      PATH: process.env.PATH ?? '',
      ...db.env,
      OPTLINE_PORT: String(port),
      OPTLINE_MASTER_KEY: masterKey.toString('base64'),
      OPTLINE_WHATSAPP_API_URL: fake.url,
      OPTLINE_SANDBOX: 'false',
      OPTLINE_LOG_LEVEL: 'error',
      OPTLINE_WORKER_POLL_MS: '20',
      OPTLINE_WHATSAPP_RATE_PER_SECOND: '250',
    });

    // 1. Half the people send STOP while their notifications are being dispatched.
    const bounded = async (cond: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!cond() && Date.now() < end) await sleep(10);
    };
    await bounded(() => fake.sent.length >= people, 20_000);
    const stoppers = digits.filter((_, i) => i % 2 === 0);
    const ackedAt = new Map<string, number>();
    for (const d of stoppers) {
      ackedAt.set(d, await post(hook, inboundText({ phoneNumberId: PNID, from: d, text: 'STOP' })));
      await sleep(20);
    }
    let seen = -1;
    for (let i = 0; i < 20 && seen !== fake.sent.length; i++) {
      seen = fake.sent.length;
      await sleep(1000);
    }
    const gaps = stoppers.map((d) => {
      const calls = fake.sent.filter(
        (s) => String(s.body?.to ?? '').replace(/^\+/, '') === d && s.body?.type !== 'text',
      );
      return calls.length === 0 ? -Infinity : Math.max(...calls.map((s) => s.at)) - ackedAt.get(d)!;
    });
    const worst = Math.max(...gaps);

    // 2. STOPs from other people while status receipts are posted flat out (8 POSTs of 25 statuses in flight).
    let flooding = true;
    let statuses = 0;
    const flood = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (flooding) {
          const now = Date.now();
          await post(
            hook,
            batch(
              ...Array.from({ length: 25 }, () =>
                statusUpdate({ phoneNumberId: PNID, messageId: randomWamid(), status: 'delivered', timestampMs: now }),
              ),
            ),
          );
          statuses += 25;
        }
      }),
    );
    await sleep(1000);
    const sentAt = new Map<string, number>();
    for (let i = 0; i < floodStops; i++) {
      const id = randomWamid();
      sentAt.set(`wa:msg:${id}`, Date.now());
      await post(hook, inboundText({ phoneNumberId: PNID, from: `447911${201000 + i}`, text: 'STOP', id }));
      await sleep(40);
    }
    flooding = false;
    await flood;
    const check = db.reopen();
    const rows = await check.db
      .selectFrom('consent_events')
      .select(['source_ref', 'recorded_at'])
      .where('business_id', '=', b.id)
      .where('source_ref', 'in', [...sentAt.keys()])
      .execute();
    await check.close();
    const lat = rows.map((e) => Number(e.recorded_at) - sentAt.get(e.source_ref!)!);
    if (lat.length !== floodStops) throw new Error(`bench: ${lat.length} of ${floodStops} STOPs have a ledger event`);

    return [
      figure({
        name: 'STOP acknowledged → last provider call',
        dialect,
        value: worst === -Infinity ? 0 : worst,
        unit: 'ms (worst)',
        floorName: 'the 200 of the STOP',
        floor: null,
        target: '≤ 0 ms',
        targetMax: 0,
        extra: { stops: stoppers.length, provider_calls: fake.sent.length },
      }),
      figure({
        name: 'STOP in a status flood → ledger event',
        dialect,
        value: pct(lat, 99),
        unit: 'ms p99',
        floorName: 'POST of the STOP',
        floor: null,
        target: 'p99 ≤ 1000 ms',
        targetMax: 1000,
        extra: { p50_ms: pct(lat, 50), stops: lat.length, statuses_posted: statuses },
      }),
    ];
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await fake.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const optOutBench: ExtraBench = {
  name: 'optout',
  run: (dialect, o) => benchOptOut(dialect, o),
};
