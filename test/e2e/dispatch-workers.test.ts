// Issue 12: four real `optline worker` processes against one PostgreSQL server, sending to a fake Cloud API in
// this process that enforces Meta's 80/s per number and records when each call arrived. Three businesses at once:
// - P, configured 80/s, 800 notifications: the busiest second at the provider stays within 80 + 2 %, and the rate
//   is not lost to self-inflicted 130429s;
// - S, configured 300/s (far more than the fake allows): the first 130429, seen by one worker, pauses every worker;
// - K, a cap of 1 notification per person per 24 h, 20 queued for each of 50 people: exactly 50 sent.
// Every notification settles (0 lost) and none reaches the provider twice. Needs a real PostgreSQL server.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openPostgres } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { createKeyring } from '../../src/lib/crypto.js';
import { silentLogger } from '../../src/lib/logger.js';
import { systemClock } from '../../src/lib/clock.js';
import { putWhatsAppChannel } from '../../src/services/admin/manage-whatsapp-channel.js';
import { updateBusiness } from '../../src/services/admin/manage-businesses.js';
import { recordOptIn } from '../../src/services/consent/record-opt-in.js';
import { queueMessage } from '../../src/services/dispatch/queue-message.js';
import { startFakeCloudApi } from '../../src/channels/whatsapp-cloud/fake-cloud-api.js';
import type { ServiceContext } from '../../src/services/context.js';
import { seedBusiness, webEvidence } from '../helpers/seed.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PG_URL = process.env.OPTLINE_TEST_DATABASE_URL || '';
const WORKERS = 4;
const RATE = 80;

function busiestSecond(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= 1000) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'worker'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('optline worker did not come up within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`optline worker exited early (${code})`)));
    createInterface({ input: child.stdout! }).once('line', () => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve(child);
    });
  });
}

async function business(ctx: ServiceContext, phoneNumberId: string, rate: number, people: number, each: number) {
  const { business: b, text } = await seedBusiness(ctx, { policy: { frequencyCaps: [], confirmationTemplate: null } });
  await putWhatsAppChannel(ctx, b.id, { phoneNumberId, accessToken: 'token', ratePerSecond: rate });
  const phones = Array.from({ length: people }, (_, i) => `+4479${phoneNumberId.slice(-2)}${String(100000 + i)}`);
  for (const phone of phones) {
    await recordOptIn(ctx, b.id, {
      person: { phone },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 'e2e',
    });
  }
  for (let round = 0; round < each; round++) {
    for (const phone of phones) {
      const r = await queueMessage(ctx, b.id, {
        person: { phone },
        topic: 'delivery',
        template: { name: 'order_update', language: 'en', bodyParams: [String(round)] },
      });
      assert.equal(r.outcome, 'queued');
    }
  }
  return b.id;
}

it(
  `${WORKERS} optline worker processes share each number's rate, slow down together on a 130429 and keep caps exact (needs a real PostgreSQL server)`,
  { skip: !PG_URL, timeout: 240_000 },
  async (t) => {
    const schema = `e2e_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const rejected: { number: string; at: number }[] = [];
    const fake = await startFakeCloudApi({
      throughputPerSecond: RATE,
      onThroughputRejected: (number, at) => rejected.push({ number, at }),
    });
    const database = openPostgres(PG_URL, { schema, poolSize: 4 });
    const children: ChildProcess[] = [];
    try {
      assert.equal((await migrateToLatest(database)).error, undefined);
      const masterKey = randomBytes(32);
      const ctx: ServiceContext = {
        database,
        clock: systemClock,
        keyring: createKeyring(masterKey),
        logger: silentLogger(),
      };
      const P = await business(ctx, '106540352200011', RATE, 100, 8);
      const S = await business(ctx, '106540352200022', 300, 100, 4);
      const K = await business(ctx, '106540352200033', RATE, 50, 20);
      await updateBusiness(ctx, K, { policy: { frequencyCaps: [{ topic: '*', max: 1, windowHours: 24 }] } });

      const url = new URL(PG_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: url.toString(),
        OPTLINE_MASTER_KEY: masterKey.toString('base64'),
        OPTLINE_SANDBOX: 'false',
        OPTLINE_WHATSAPP_API_URL: fake.url,
        OPTLINE_LOG_LEVEL: 'error',
        OPTLINE_WORKER_POLL_MS: '20',
        OPTLINE_PUBLIC_URL: 'http://127.0.0.1:9',
        OPTLINE_DB_POOL_SIZE: '4',
      };
      children.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startWorker(env)))));

      // Progress, not time: until nothing is queued or in flight (bounded number of looks).
      const open = async () =>
        Number(
          (
            await database.db
              .selectFrom('messages')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('status', 'in', ['queued', 'sending'])
              .executeTakeFirstOrThrow()
          ).n,
        );
      for (let i = 0; i < 600 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 250));
      assert.equal(await open(), 0, 'every notification settled');

      const rows = await database.db
        .selectFrom('messages')
        .select(['id', 'business_id', 'status', 'error_code'])
        .execute();
      const byStatus = (b: string, s: string) => rows.filter((r) => r.business_id === b && r.status === s).length;
      const arrivals = new Map<string, number>();
      for (const s of fake.sent)
        arrivals.set(s.body.biz_opaque_callback_data, (arrivals.get(s.body.biz_opaque_callback_data) ?? 0) + 1);
      const twice = [...arrivals.entries()].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], 'no message reached the provider twice');
      assert.equal(byStatus(P, 'sent'), 800, 'P: every notification sent');
      assert.equal(byStatus(S, 'sent'), 400, 'S: every notification sent (after its 130429s)');
      assert.equal(byStatus(K, 'sent'), 50, 'K: exactly one per person under a cap of 1 per 24 h');
      assert.equal(
        rows.filter((r) => r.business_id === K && r.status === 'refused' && r.error_code?.includes('FREQUENCY_CAPPED'))
          .length,
        950,
      );
      assert.equal(rows.filter((r) => r.status === 'unknown').length, 0, 'no lease ran out');

      const timesOf = (number: string) =>
        fake.sent
          .filter((s) => s.phoneNumberId === number)
          .map((s) => s.at)
          .sort((a, b) => a - b);
      const p = timesOf('106540352200011');
      const busiest = busiestSecond(p);
      const achieved = (p.length - 1) / ((p[p.length - 1]! - p[0]!) / 1000);
      const pRejected = rejected.filter((r) => r.number === '106540352200011').length;
      const sRejected = rejected.filter((r) => r.number === '106540352200022');
      t.diagnostic(
        `P: busiest second ${busiest} at ${RATE}/s configured, ${achieved.toFixed(1)}/s achieved, ${pRejected} 130429; ` +
          `S: ${sRejected.length} 130429 for 400 sends; K: ${byStatus(K, 'sent')} sent`,
      );
      assert.ok(busiest <= Math.floor(RATE * 1.02), `P: busiest second ${busiest} within ${RATE} + 2 %`);

      // S: the fake refused S (configured far above what the fake allows), and every worker took the slowdown from
      // the shared row: S ends its run at a cut rate. How quickly each process noticed depends on the machine's load,
      // so the arrivals during the first pause are printed, not asserted; the sharing itself is proven with an
      // injected clock in test/worker/dispatch/shared-pacing.test.ts.
      assert.ok(sRejected.length > 0, 'S: the fake refused S at 80/s');
      const first = sRejected[0]!.at;
      const during = timesOf('106540352200022').filter((at) => at > first + 700 && at < first + 1000).length;
      const sRow = await database.db
        .selectFrom('number_pacing')
        .select(['rate', 'configured', 'slowed_at'])
        .where('business_id', '=', S)
        .executeTakeFirstOrThrow();
      t.diagnostic(
        `S: ${during} arrivals 700-1000 ms after the first 130429; shared rate ${Number(sRow.rate).toFixed(1)}/s`,
      );
      assert.ok(Number(sRow.slowed_at) > 0, 'S: a 130429 was written to the shared row every worker claims from');
    } finally {
      await Promise.all(
        children.map((c) =>
          c.exitCode === null
            ? new Promise((r) => {
                c.once('exit', r);
                c.kill('SIGTERM');
              })
            : null,
        ),
      );
      await fake.close();
      await database.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  },
);
