// Public surface of the dispatch worker.
export { startDispatchWorker, CLAIM_HORIZON_MS } from './dispatch-worker.js';
export type { DispatchWorker, DispatchWorkerDeps } from './dispatch-worker.js';
export { reapLeases } from './reaper.js';
export type { WorkerMetrics } from './types.js';
