// Dispatch with several `optline worker` processes on PostgreSQL (issue 12): msg/s and CPU per message (the worker
// processes plus their PostgreSQL backends, from /proc) with 1, 2 and 4 workers, as ratios to 1 worker; and the
// busiest second at the provider against the configured rate with 4 workers. Linux only (reads /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startFakeCloudApi } from '../src/channels/whatsapp-cloud/fake-cloud-api.js';
import { createKeyring } from '../src/lib/crypto.js';
import { silentLogger } from '../src/lib/logger.js';
import { systemClock } from '../src/lib/clock.js';
import type { Database, Dialect_ } from '../src/storage/db.js';
import { busiestSecond, seed } from './dispatch.js';
import type { ExtraBench } from './extra.js';
import { startFakeCloudChild, type FakeProvider } from './fake-cloud-child.js';
import { BENCH_PG_URL, figure, openBenchDb, type Figure } from './lib.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** CPU seconds a process has used (user + system), or 0 once it is gone. */
function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'worker'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`optline worker exited early (${code})`)));
    createInterface({ input: child.stdout! }).once('line', () => {
      child.removeAllListeners('exit');
      resolve(child);
    });
  });
}

type Provider = (messages: number) => Promise<FakeProvider>;

/** In this process: cheap to ask, but its receive times wait for this process's event loop. */
const inProcessProvider: Provider = async (messages) => {
  const fake = await startFakeCloudApi({ sentCap: messages + 10 });
  return {
    url: fake.url,
    count: async () => fake.sent.length,
    times: async () => fake.sent.map((s) => s.at),
    close: () => fake.close(),
  };
};

interface Run {
  perSecond: number;
  cpuPerMessageMs: number;
  busiest: number;
  sent: number;
}

/**
 * `messages` queued for one number at `rate`, sent by `workers` processes; times from the first to the last arrival.
 */
async function run(
  database: Database,
  workers: number,
  messages: number,
  rate: number,
  provider: Provider = inProcessProvider,
): Promise<Run> {
  const masterKey = randomBytes(32);
  const ctx = { database, clock: systemClock, keyring: createKeyring(masterKey), logger: silentLogger() };
  const { businessId } = await seed(database, messages, rate, ctx);
  const fake = await provider(messages);
  const tag = `optline_bench_${randomBytes(4).toString('hex')}`;
  const schema = (
    await database.db.selectNoFrom((eb) => eb.fn<string>('current_schema', []).as('s')).executeTakeFirstOrThrow()
  ).s;
  const url = new URL(BENCH_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', tag);
  const env = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: url.toString(),
    OPTLINE_MASTER_KEY: masterKey.toString('base64'),
    OPTLINE_SANDBOX: 'false',
    OPTLINE_WHATSAPP_API_URL: fake.url,
    OPTLINE_LOG_LEVEL: 'error',
    OPTLINE_WORKER_POLL_MS: '20',
    OPTLINE_WORKER_BATCH: '500',
    OPTLINE_PUBLIC_URL: 'http://127.0.0.1:9',
  };
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
  const backends = new Map<number, number>();
  const sample = async () => {
    const r = await database.pool!.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [tag],
    );
    for (const { pid } of r.rows) backends.set(pid, Math.max(backends.get(pid) ?? 0, cpuOf(pid)));
  };
  try {
    const cpu0 = children.reduce((n, c) => n + cpuOf(c.pid!), 0);
    await sample();
    const pg0 = new Map(backends);
    for (let i = 0; i < 2400 && (await fake.count()) < messages; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (i % 3 === 0) await sample();
    }
    await sample();
    const cpu = children.reduce((n, c) => n + cpuOf(c.pid!), 0) - cpu0;
    const pgCpu = [...backends].reduce((n, [pid, v]) => n + v - (pg0.get(pid) ?? 0), 0);
    const times = await fake.times();
    const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
    void businessId;
    return {
      perSecond: Math.round(times.length / seconds),
      cpuPerMessageMs: ((cpu + pgCpu) * 1000) / times.length,
      busiest: busiestSecond(times),
      sent: times.length,
    };
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((r) => {
            c.once('exit', r);
            c.kill('SIGTERM');
          }),
      ),
    );
    await fake.close();
  }
}

export const dispatchWorkersBench: ExtraBench = {
  name: 'dispatch-workers',
  async run(dialect: Dialect_, o: { ms: number; quick: boolean }): Promise<Figure[]> {
    if (dialect !== 'postgres') return [];
    const messages = o.quick ? 5_000 : 20_000;
    const runs = new Map<number, Run>();
    for (const n of [1, 2, 4]) {
      const db = await openBenchDb('postgres');
      try {
        runs.set(n, await run(db, n, messages, 1_000_000));
      } finally {
        await db.close();
      }
    }
    const one = runs.get(1)!;
    const out: Figure[] = [];
    for (const n of [2, 4]) {
      const r = runs.get(n)!;
      out.push(
        figure({
          name: `dispatch ${n} workers vs 1, msg/s`,
          dialect,
          value: r.perSecond,
          unit: 'msgs/s',
          floorName: '1 worker process',
          floor: one.perSecond,
          target: 'no less than 1 worker',
          targetRatio: 1,
          extra: { sent: r.sent },
        }),
      );
      out.push(
        figure({
          name: `dispatch ${n} workers vs 1, CPU/msg`,
          dialect,
          value: Math.round(r.cpuPerMessageMs * 1000) / 1000,
          unit: 'ms CPU/msg',
          floorName: '1 worker process (worker + PostgreSQL)',
          floor: Math.round(one.cpuPerMessageMs * 1000) / 1000,
          higherIsBetter: false,
          target: '≤ 1.2x of 1 worker',
          targetRatio: 1 / 1.2,
        }),
      );
    }
    const db = await openBenchDb('postgres');
    try {
      const rate = 80;
      const messages = o.quick ? 240 : 480;
      // The provider in its own process, as at Meta: its clock is not held up by this process.
      const p = await run(db, 4, messages, rate, startFakeCloudChild);
      out.push(
        figure({
          name: `busiest second, 4 workers at ${rate}/s`,
          dialect,
          value: p.busiest,
          unit: 'msgs in 1 s',
          floorName: 'configured rate',
          floor: rate,
          higherIsBetter: false,
          target: `≤ ${rate} + 2 %`,
          targetMax: rate * 1.02,
          extra: { achieved_per_s: p.perSecond },
        }),
      );
    } finally {
      await db.close();
    }
    return out;
  },
};
