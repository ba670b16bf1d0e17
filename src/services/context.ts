import type { Clock } from '../lib/clock.js';
import type { Keyring } from '../lib/crypto.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import type { Database } from '../storage/db.js';
import type { CallHold } from './consent/await-calls-in-flight.js';
import type { OutboundPorts } from './outbound.js';
import { fail } from '../domain/errors.js';

/** What every use case needs: the database (with its transaction runner), time, keys and a logger. */
export interface ServiceContext {
  database: Database;
  clock: Clock;
  keyring: Keyring;
  logger: Logger;
  /**
   * The process's Prometheus metrics (lib/metrics.ts); set by buildApp when absent. Optional: counting is never
   * required.
   */
  metrics?: Metrics;
  /**
   * Set by an edge that acknowledges opt-outs recorded inside a larger transaction (the webhook's group commit):
   * each opt-out adds the calls in flight at its commit, and the edge awaits them (awaitCallsInFlight) before
   * it answers. recordOptOut waits by itself.
   */
  callHolds?: CallHold[];
  /** Sending SMS and email (services/outbound.ts); set by buildApp. Absent in the CLI, which sends neither. */
  outbound?: OutboundPorts;
}

/** The context's outbound ports, or a clear refusal where this process has none. */
export function outbound(ctx: ServiceContext): OutboundPorts {
  return ctx.outbound ?? fail('CHANNEL_NOT_CONFIGURED', 'This process cannot send SMS or email.', 'channel');
}
