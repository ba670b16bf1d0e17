import type { Dialect_ } from '../src/storage/db.js';
import type { Figure } from './lib.js';

/** Benchmarks of the channels and the worker, registered here so run.ts stays one list. */
export interface ExtraBench {
  name: string;
  run(dialect: Dialect_, o: { ms: number; quick: boolean }): Promise<Figure[]>;
}

const { webhookBench } = await import('./webhook.js');
const { dispatchBench } = await import('./dispatch.js');
const { optOutBench } = await import('./optout.js');
const { refusedBench } = await import('./refused.js');
const { reportsBench } = await import('./reports.js');
const { dispatchWorkersBench } = await import('./dispatch-workers.js');

export const EXTRA_BENCHES: ExtraBench[] = [
  webhookBench,
  dispatchBench,
  optOutBench,
  refusedBench,
  reportsBench,
  dispatchWorkersBench,
];
