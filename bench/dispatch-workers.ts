// Dispatch with several `optline worker` processes on PostgreSQL (issue 12): msg/s and CPU per message (the worker
// processes plus their PostgreSQL backends, from /proc) with 1, 2 and 4 workers, as ratios to 1 worker; and the
// busiest second at the provider against the configured rate with 4 workers. Linux only (reads /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
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
  // BENCH_WORKER_PROF=dir: each worker writes a V8 CPU profile there when it stops (diagnostics).
  const prof = process.env.BENCH_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', MAIN, 'worker'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`optline worker exited early (${code})`)));
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', () => {
      child.removeAllListeners('exit');
      resolve(child);
    });
    // BENCH_WORKER_LOG=1: each worker's counters at its stop (claims, start steps, outcome batches), on stderr.
    if (process.env.BENCH_WORKER_LOG)
      lines.on('line', (l) => {
        if (l.includes('dispatch worker stopped')) process.stderr.write(`${l}\n`);
      });
  });
}

type Provider = (messages: number) => Promise<FakeProvider>;

/** Messages each worker process sends before the measured run (warm-up; see run()). */
const WARM_PER_WORKER = 1500;

interface Run {
  perSecond: number;
  cpuPerMessageMs: number;
  /** The split of cpuPerMessageMs, and PostgreSQL transactions committed per message (all sessions). */
  workerMsPerMessage: number;
  pgMsPerMessage: number;
  commitsPerMessage: number;
  busiest: number;
  sent: number;
}

/**
 * `messages` queued for one number at `rate`, sent by `workers` processes; times from the first to the last arrival.
 * With `warm`, that many more are queued and sent first, unmeasured: each process compiles its hot code (V8's JIT)
 * in its first seconds, a cost per process and not per message, which a short run would otherwise charge to N.
 */
async function run(
  database: Database,
  workers: number,
  measured: number,
  rate: number,
  // The fake in its own process: neither its CPU nor this process's state (the heap earlier benches grew) is in
  // what is compared.
  provider: Provider = startFakeCloudChild,
  warm = 0,
): Promise<Run> {
  const masterKey = randomBytes(32);
  const ctx = { database, clock: systemClock, keyring: createKeyring(masterKey), logger: silentLogger() };
  const messages = measured + warm;
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
    OPTLINE_LOG_LEVEL: process.env.BENCH_WORKER_LOG ? 'info' : 'error',
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
    const commits = async () =>
      Number(
        (
          await database.pool!.query<{ n: string }>(
            'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
          )
        ).rows[0]!.n,
      );
    for (let i = 0; i < 2400 && warm > 0 && (await fake.count()) < warm; i++)
      await new Promise((r) => setTimeout(r, 20));
    const sentBefore = await fake.count();
    const commits0 = await commits();
    // BENCH_PG_WAITS=1: what the workers' backends are doing, sampled every 25 ms (diagnostics, on stderr).
    const waits = new Map<string, number>();
    let sampling = !!process.env.BENCH_PG_WAITS;
    const waitSampler = (async () => {
      while (sampling) {
        const r = await database.pool!.query<{ k: string }>(
          `SELECT state || ' ' || coalesce(wait_event_type || ':' || wait_event, 'cpu') || ' ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS k
             FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`,
          [tag],
        );
        for (const { k } of r.rows) waits.set(k, (waits.get(k) ?? 0) + 1);
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    const cpu0 = children.reduce((n, c) => n + cpuOf(c.pid!), 0);
    await sample();
    const pg0 = new Map(backends);
    for (let i = 0; i < 2400 && (await fake.count()) < messages; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (i % 3 === 0) await sample();
    }
    await sample();
    const cpu = children.reduce((n, c) => n + cpuOf(c.pid!), 0) - cpu0;
    sampling = false;
    await waitSampler;
    for (const [k, v] of [...waits].sort((a, b) => b[1] - a[1]).slice(0, 14)) process.stderr.write(`${v}\t${k}\n`);
    if (process.env.BENCH_PG_WAITS) {
      await new Promise((r) => setTimeout(r, 1100));
      const ix = await database.pool!.query(
        `SELECT relname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes
          WHERE schemaname = current_schema() AND relname IN ('messages', 'number_pacing') ORDER BY idx_tup_read DESC`,
      );
      const tb = await database.pool!.query(
        `SELECT relname, n_tup_upd, n_tup_hot_upd, n_dead_tup, seq_scan, seq_tup_read FROM pg_stat_user_tables
          WHERE schemaname = current_schema() AND relname IN ('messages', 'people', 'consent_state')`,
      );
      process.stderr.write(`${JSON.stringify(ix.rows)}\n${JSON.stringify(tb.rows)}\n`);
    }
    const pgCpu = [...backends].reduce((n, [pid, v]) => n + v - (pg0.get(pid) ?? 0), 0);
    // pg_stat_database is updated when a session reports (at most every 1 s and at its end): read after a pause.
    const commits1 = await new Promise((r) => setTimeout(r, 1100)).then(commits);
    const all = (await fake.times()).sort((a, b) => a - b);
    // What was sent after the warm-up (from the last warm-up arrival on).
    const times = all.slice(Math.max(0, sentBefore - 1));
    const n = all.length - sentBefore;
    const seconds = (times[times.length - 1]! - times[0]!) / 1000;
    void businessId;
    return {
      perSecond: Math.round((warm > 0 ? n : all.length) / seconds),
      cpuPerMessageMs: ((cpu + pgCpu) * 1000) / n,
      workerMsPerMessage: (cpu * 1000) / n,
      pgMsPerMessage: (pgCpu * 1000) / n,
      commitsPerMessage: (commits1 - commits0) / n,
      busiest: busiestSecond(all),
      sent: all.length,
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

/** The mean of repeated runs of one worker count (the busiest second: the worst of them). */
function meanOf(rs: Run[]): Run {
  const mean = (f: (r: Run) => number) => rs.reduce((n, r) => n + f(r), 0) / rs.length;
  return {
    perSecond: Math.round(mean((r) => r.perSecond)),
    cpuPerMessageMs: mean((r) => r.cpuPerMessageMs),
    workerMsPerMessage: mean((r) => r.workerMsPerMessage),
    pgMsPerMessage: mean((r) => r.pgMsPerMessage),
    commitsPerMessage: mean((r) => r.commitsPerMessage),
    busiest: Math.max(...rs.map((r) => r.busiest)),
    sent: rs.reduce((n, r) => n + r.sent, 0),
  };
}

export const dispatchWorkersBench: ExtraBench = {
  name: 'dispatch-workers',
  async run(dialect: Dialect_, o: { ms: number; quick: boolean }): Promise<Figure[]> {
    if (dialect !== 'postgres') return [];
    const messages = o.quick ? 5_000 : 20_000;
    const done = new Map<number, Run[]>();
    // BENCH_WORKER_COUNTS=4 (say): only those runs, for profiling one of them (diagnostics; no figures printed).
    const only = process.env.BENCH_WORKER_COUNTS?.split(',').map(Number);
    // The machine drifts over a run of the bench (after the import and report benches, later runs cost more CPU per
    // message than earlier ones, whatever their worker count: measured with the orders 1,2,4 and 4,2,1). So each
    // count runs twice, in the order 1,2,4,4,2,1, and is the mean of its two runs: a linear drift cancels out.
    for (const n of only ?? [1, 2, 4, 4, 2, 1]) {
      const db = await openBenchDb('postgres');
      try {
        // Each run starts from the same state: what earlier benches left dirty (a 1M-row import, the report's 1M
        // events) is written out now, not by a background checkpoint in the middle of one of the runs.
        await db.pool!.query('CHECKPOINT').catch(() => undefined);
        const r = await run(db, n, messages, 1_000_000, undefined, WARM_PER_WORKER * n);
        done.set(n, [...(done.get(n) ?? []), r]);
      } finally {
        await db.close();
      }
    }
    if (only) {
      for (const [n, rs] of done) for (const r of rs) process.stderr.write(`${n} workers: ${JSON.stringify(r)}\n`);
      return [];
    }
    const runs = new Map([...done].map(([n, rs]) => [n, meanOf(rs)]));
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
          extra: {
            worker_ms: r.workerMsPerMessage.toFixed(3),
            pg_ms: r.pgMsPerMessage.toFixed(3),
            commits: r.commitsPerMessage.toFixed(3),
            one_worker_ms: `${one.workerMsPerMessage.toFixed(3)}+${one.pgMsPerMessage.toFixed(3)}`,
            one_worker_commits: one.commitsPerMessage.toFixed(3),
          },
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
