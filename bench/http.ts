import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import type { Dialect_ } from '../src/storage/db.js';
import { alternating, figure, type Figure } from './lib.js';
import { phoneOf } from './gate.js';

async function load(url: string, key: string | null, seconds: number, body: (i: number) => string) {
  let i = 0;
  const r = await autocannon({
    url,
    method: 'POST',
    connections: 16,
    pipelining: 1,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(i++) }) }],
  });
  if (r.non2xx > 0) throw new Error(`bench: ${r.non2xx} non-2xx answers from ${url}`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

/** HTTP POST /v1/decisions against a bare Fastify route returning a constant, same load, same process. */
export async function benchHttpDecisions(dialect: Dialect_, seconds: number): Promise<Figure[]> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_SERVER_PROF=dir: the server writes a V8 CPU profile there when it stops (diagnostics).
      ...(process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : []),
      '--import',
      'tsx',
      new URL('./http-server.ts', import.meta.url).pathname,
      dialect,
      String(seconds * 1000),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`bench server exited (${c})`)));
  });
  const { app, bare, key, gate } = JSON.parse(line) as { app: number; bare: number; key: string; gate: number };
  try {
    const body = (i: number) => JSON.stringify({ person: { phone: phoneOf(i % 1000) }, topic: 'delivery' });
    await load(`http://127.0.0.1:${bare}/bare`, null, 1, body); // warm-up
    await load(`http://127.0.0.1:${app}/v1/decisions`, key, 1, body);
    // Three turns of each, alternating, each a third of the time: the median of each against the other.
    const turn = Math.max(1, Math.round(seconds / 3));
    const { floor, value } = await alternating(
      3,
      () => load(`http://127.0.0.1:${bare}/bare`, null, turn, body),
      () => load(`http://127.0.0.1:${app}/v1/decisions`, key, turn, body),
      (r) => r.rps,
    );
    // Batches of 100: decisions per second through HTTP against the in-process gate on the same database.
    const batchBody = (i: number) =>
      JSON.stringify({
        items: Array.from({ length: 100 }, (_, j) => ({
          person: { phone: phoneOf((i * 100 + j) % 1000) },
          topic: 'delivery',
        })),
      });
    await load(`http://127.0.0.1:${app}/v1/decisions/batch`, key, 1, batchBody);
    const batch = await load(`http://127.0.0.1:${app}/v1/decisions/batch`, key, seconds, batchBody);
    return [
      figure({
        name: 'HTTP POST /v1/decisions',
        dialect,
        value: Math.round(value.rps),
        unit: 'req/s',
        floorName: 'bare Fastify POST route returning a constant',
        floor: Math.round(floor.rps),
        target: 'ratio ≥ 0.6',
        targetRatio: 0.6,
        extra: { p50_ms: value.p50, p99_ms: value.p99, floor_p99_ms: floor.p99 },
      }),
      figure({
        name: 'HTTP decisions in batches of 100',
        dialect,
        value: Math.round(batch.rps * 100),
        unit: 'decisions/s',
        floorName: 'in-process gate decisions',
        floor: Math.round(gate),
        target: 'ratio ≥ 0.5',
        targetRatio: 0.5,
        extra: { p99_ms: batch.p99 },
      }),
    ];
  } finally {
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}
