/**
 * The import's reader on a worker thread: it reads, parses and checks the CSV (phone parsing is most of the CPU)
 * while the main thread writes, and stays at most a few batches ahead of the writer.
 */
import { Worker } from 'node:worker_threads';
import type { CheckedBatch, RowContext } from './import-row.js';
import { reviveError, type CheckWorkerInput, type CheckWorkerMessage } from '../../worker/import/check-thread.js';

// From the build the worker is the .js file in worker/import/. From source (tests and benchmarks run through
// tsx) it is the .ts file, and a worker thread on Node 20 does not inherit tsx's loader: it registers it first.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER = new URL(`../../worker/import/check-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);
// The reader's young generation is kept small: parsing makes short-lived garbage only, and V8's default (up to
// 16 MiB per semi-space) let this thread's heap alone hold ~70 MB. With 6 MiB a 300,000-row import peaked 35 MB
// lower in the same time (the parser is not what the import waits for: the writes are).
const resourceLimits = { maxYoungGenerationSizeMb: 6 };
const startWorker = (workerData: CheckWorkerInput) =>
  FROM_SOURCE
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER.href)}); });`,
        { eval: true, workerData, resourceLimits },
      )
    : new Worker(WORKER, { workerData, resourceLimits });

/** checkBatches on a worker thread reading the file itself; at most a few batches ahead of the writer. */
export async function* checkInWorker(file: string, rc: RowContext, batchSize: number): AsyncGenerator<CheckedBatch> {
  const { phoneHash: _secret, ...context } = rc;
  const workerData: CheckWorkerInput = { ...context, file, batchSize, window: 3 };
  const worker = startWorker(workerData);
  const inbox: (CheckWorkerMessage | { failed: Error } | { exited: number })[] = [];
  let wake: (() => void) | null = null;
  const deliver = (m: (typeof inbox)[number]) => {
    inbox.push(m);
    wake?.();
    wake = null;
  };
  worker.on('message', (m: CheckWorkerMessage) => deliver(m));
  worker.on('error', (e) => deliver({ failed: e }));
  worker.on('exit', (code) => deliver({ exited: code }));
  try {
    for (;;) {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      const m = inbox.shift()!;
      if ('batch' in m) {
        worker.postMessage(1); // one more batch may come
        yield m.batch;
      } else if ('done' in m) return;
      else if ('error' in m) throw reviveError(m.error);
      else if ('failed' in m) throw m.failed;
      else throw new Error(`the import's reader stopped unexpectedly (exit code ${m.exited})`);
    }
  } finally {
    await worker.terminate();
  }
}
