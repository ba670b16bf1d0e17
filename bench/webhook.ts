import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { inboundText, metaJson } from '../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../src/channels/whatsapp-cloud/signature.js';
import type { Dialect_ } from '../src/storage/db.js';
import type { ExtraBench } from './extra.js';
import { alternating, figure, type Figure } from './lib.js';

async function load(url: string, seconds: number, bodies: { body: string; sig: string }[]) {
  let i = 0;
  const r = await autocannon({
    url,
    method: 'POST',
    connections: 16,
    duration: seconds,
    requests: [
      {
        setupRequest: (req) => {
          const b = bodies[i++ % bodies.length]!;
          return {
            ...req,
            body: b.body,
            headers: { 'content-type': 'application/json', 'x-hub-signature-256': b.sig },
          };
        },
      },
    ],
  });
  if (r.non2xx > 0) throw new Error(`bench: ${r.non2xx} non-2xx answers from ${url}`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

/**
 * Signed webhook ingest/s (signature on the raw bytes, every item stored in the inbox before the 200, the
 * inbox processor running alongside) against a bare Fastify route accepting the same bodies.
 */
export async function benchWebhookIngest(dialect: Dialect_, seconds: number): Promise<Figure> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_SERVER_PROF=dir: the server writes a V8 CPU profile there when it stops (diagnostics).
      ...(process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : []),
      '--import',
      'tsx',
      new URL('./webhook-server.ts', import.meta.url).pathname,
      dialect,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`bench server exited (${c})`)));
  });
  const { app, bare, secret } = JSON.parse(line) as { app: number; bare: number; secret: string };
  try {
    // Distinct messages (each a new wamid), so deduplication does not make the work trivial.
    const bodies = Array.from({ length: 60_000 }, (_, i) => {
      const body = metaJson(
        inboundText({
          phoneNumberId: 'bench-pn',
          from: `4479${String(20000000 + (i % 5000)).padStart(8, '0')}`,
          text: i % 10 === 0 ? 'STOP' : 'Where is my order?',
        }),
      );
      return { body, sig: signMetaBody(body, secret) };
    });
    await load(`http://127.0.0.1:${bare}/bare`, 1, bodies);
    // Three turns of each, alternating; each turn of the app posts messages it has not seen (no deduplication).
    const turn = Math.max(1, Math.round(seconds / 3));
    let from = 0;
    const { floor, value } = await alternating(
      3,
      () => load(`http://127.0.0.1:${bare}/bare`, turn, bodies),
      () => load(`http://127.0.0.1:${app}/webhooks/whatsapp`, turn, bodies.slice((from += 15_000))),
      (r) => r.rps,
    );
    return figure({
      name: 'signed webhook ingest',
      dialect,
      value: Math.round(value.rps),
      unit: 'webhooks/s',
      floorName: 'bare Fastify POST route accepting the same body',
      floor: Math.round(floor.rps),
      target: 'ratio ≥ 0.5; median ≤ 250 ms',
      targetRatio: 0.5,
      extra: { p50_ms: value.p50, p99_ms: value.p99, floor_p99_ms: floor.p99 },
    });
  } finally {
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}

export const webhookBench: ExtraBench = {
  name: 'webhook',
  async run(dialect, o) {
    return [await benchWebhookIngest(dialect, Math.max(2, Math.round(o.ms / 1000) * 2))];
  },
};
