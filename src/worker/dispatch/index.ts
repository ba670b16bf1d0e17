// Public surface of the dispatch worker.
export { startDispatchWorker, CLAIM_HORIZON_MS } from './worker.js';
export type { DispatchWorker, DispatchWorkerDeps } from './worker.js';
export { reapLeases } from './reaper.js';
export type { WorkerMetrics } from './types.js';
