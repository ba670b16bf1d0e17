/**
 * The dispatch loop: claim (gate re-checked in the claim's transaction) → wait for the pacer and a concurrency
 * slot → start (consent re-checked and the call marked started in one atomic step, batched; start-gate.ts) →
 * record outcomes in batches. Any number of workers, in any number of processes, may run against one
 * PostgreSQL database; on SQLite run one process.
 */
import { randomBytes } from 'node:crypto';
import type { CloudClient } from '../../channels/whatsapp-cloud/client.js';
import type { Config } from '../../config.js';
import type { ServiceContext } from '../../services/context.js';
import { BusinessInfoCache } from '../../services/dispatch/business-info.js';
import { claimBatch, type ClaimDeps } from './claim.js';
import { OutcomeQueue } from './outcome-queue.js';
import { Pacer } from './pacer.js';
import { ReapSchedule, reapLeases } from './reaper.js';
import { writeOutcomes } from './record-outcomes.js';
import { sendStartFor } from '../../storage/dispatch/send-start.js';
import { sendOne, StartStepFailed, type SendDeps } from './send-one.js';
import { releaseLeases } from '../../storage/dispatch/dispatch-store.js';
import { sharedPacing } from './shared-pacing.js';
import { StartGate } from './start-gate.js';
import { emptyMetrics, type DispatchItem, type PauseHook, type WorkerMetrics } from './types.js';

/** A claim leases only what the pacer can send within this time. */
export const CLAIM_HORIZON_MS = 250;
/** Outcomes are committed in batches of up to this many, gathered for at most this long. */
export const OUTCOME_BATCH = 500;
export const OUTCOME_LINGER_MS = 20;
/** The longest a busy worker, or one that found a number's claim taken by another worker, waits before it claims again. */
export const CONTENDED_POLL_MS = 50;

export interface DispatchWorkerDeps {
  ctx: ServiceContext;
  config: Config['worker'] & {
    defaultRatePerSecond: number;
    /** Least time between two messages to one recipient (default 0). */
    recipientSpacingMs?: number;
    /** How late after its shared slot a call may start (default LATE_SLOT_MS; tests whose clock jumps: more). */
    lateSlotMs?: number;
  };
  cloud: CloudClient;
  workerId?: string;
  /** Run the loop (default true). False: nothing happens until tick() is called (tests). */
  autoStart?: boolean;
  /** Waits for a pacing slot. Tests pass one that moves their ManualClock instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
  /** Backoff jitter (default Math.random). */
  random?: () => number;
  /** Told of every claim round that leased messages; `startedAt`/`committedAt` are performance.now() values. */
  onClaim?: (c: { items: DispatchItem[]; startedAt: number; committedAt: number }) => void;
  /** Delays injected at every await point of the send path (the deterministic simulation); none by default. */
  pause?: PauseHook;
}

export interface DispatchWorker {
  readonly workerId: string;
  /** Stops claiming, waits for every leased message to be sent and its outcome written. */
  stop(): Promise<void>;
  /** One claim round, its sends and their outcomes; resolves with the number of messages leased and sent. */
  tick(): Promise<number>;
  metrics(): WorkerMetrics;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function startDispatchWorker(deps: DispatchWorkerDeps): DispatchWorker {
  const { ctx, config } = deps;
  const workerId = deps.workerId ?? `wrk_${randomBytes(6).toString('hex')}`;
  const metrics = emptyMetrics();
  const pacer = new Pacer({ recipientSpacingMs: config.recipientSpacingMs ?? 0 });
  const cache = new BusinessInfoCache(ctx.database.caches.businesses, ctx.keyring, config.defaultRatePerSecond);
  const claimDeps: ClaimDeps = {
    database: ctx.database,
    cache,
    pacer,
    workerId,
    leaseMs: config.leaseMs,
    horizonMs: CLAIM_HORIZON_MS,
    clock: ctx.clock,
  };
  const reaps = new ReapSchedule(Math.max(1000, Math.floor(config.leaseMs / 4)));

  // Bounded concurrency of HTTP calls.
  let inFlight = 0;
  const waiters: (() => void)[] = [];
  const acquire = async (): Promise<() => void> => {
    if (inFlight >= config.concurrency) await new Promise<void>((r) => waiters.push(r));
    inFlight++;
    return () => {
      inFlight--;
      waiters.shift()?.();
    };
  };
  const starts = new StartGate({
    port: sendStartFor(ctx.database),
    owner: workerId,
    clock: ctx.clock,
    cache,
    db: ctx.database.db,
    pause: deps.pause,
    onBatch: () => metrics.startBatches++,
    onMissedSlot: () => {
      metrics.missedSlots++;
      ctx.metrics?.countMissedSlot();
    },
    ...(config.lateSlotMs !== undefined ? { lateSlotMs: config.lateSlotMs } : {}),
  });
  const sendDeps: SendDeps = {
    cloud: deps.cloud,
    pacer,
    clock: ctx.clock,
    sleep: deps.sleep ?? realSleep,
    random: deps.random ?? Math.random,
    acquire,
    starts,
    pause: deps.pause,
    metrics: ctx.metrics,
    shared: sharedPacing(ctx.database, ctx.logger),
  };

  const outcomes = new OutcomeQueue(
    async (batch) => {
      if (deps.pause) await deps.pause('record');
      const t = await writeOutcomes(ctx, workerId, batch);
      metrics.outcomeBatches++;
      metrics.sent += t.sent;
      metrics.failed += t.failed;
      metrics.retried += t.retried;
      metrics.released += t.released;
      metrics.sentAfterCancel += t.sentAfterCancel;
    },
    { maxBatch: OUTCOME_BATCH, lingerMs: OUTCOME_LINGER_MS },
  );

  // Messages leased and not yet answered by Meta (or failed before the call). The loop claims a whole batch once no
  // more than
  // concurrency + batchSize are held (a claim takes as long as sending a few concurrency-fulls: claiming only at
  // `concurrency` left the HTTP slots dry while it ran; each claim transaction still carries a full batch, not a
  // trickle of one-row claims), and never holds more than concurrency + 2 × batchSize.
  const held = new Set<Promise<void>>();
  const lowWater = config.concurrency + config.batchSize;
  const maxHeld = config.concurrency + 2 * config.batchSize;
  let wake: (() => void) | null = null;
  const notify = (force = false) => {
    if (held.size > lowWater && !force) return;
    const w = wake;
    wake = null;
    w?.();
  };

  // A message leaves `held` when Meta has answered and its outcome is queued for the next batch commit; the
  // returned promise resolves once that outcome is committed (tick and stop wait for it).
  const run = (item: DispatchItem): Promise<void> => {
    let committed: Promise<void> = Promise.resolve();
    const p = sendOne(sendDeps, item)
      .then(({ outcome, call }) => {
        if (outcome.kind === 'skipped') {
          if (outcome.stopped === 'gone') metrics.skippedCancelled++;
          else metrics.stoppedAtStart++;
        } else committed = outcomes.add({ item, outcome, ...(call ? { call } : {}) });
      })
      .catch(async (e: unknown) => {
        if (e instanceof StartStepFailed) {
          // No call was made (the database failed the start step, e.g. under lock contention): the message goes
          // back to the queue, its try uncounted, instead of waiting out its lease to be reported unknown.
          ctx.logger.warn({ err: e.reason, messageId: item.id }, 'dispatch: start step failed; message queued again');
          const now = ctx.clock.now();
          const back = { businessId: item.businessId, id: item.id, notBefore: now + 1000 };
          await releaseLeases(ctx.database.db, [back], workerId, now).catch((err: unknown) =>
            ctx.logger.error({ err, messageId: item.id }, 'dispatch: could not queue the message again'),
          );
          return;
        }
        // A bug, not Meta: the message stays leased and the reaper will surface it as unknown.
        ctx.logger.error({ err: e, messageId: item.id }, 'dispatch: send failed unexpectedly');
      })
      .finally(() => {
        held.delete(p);
        notify();
      });
    held.add(p);
    return p.then(() => committed);
  };

  // Claims are serialised within a worker (the pacer's budget is read and spent by one claim at a time).
  let claiming: Promise<unknown> = Promise.resolve();
  const claimRound = (limit: number): Promise<{ started: Promise<void>[]; settled: number; busy: number }> => {
    const round = claiming.then(async () => {
      if (deps.pause) await deps.pause('claim');
      const now = ctx.clock.now();
      if (reaps.due(now)) metrics.reapedUnknown += await reapLeases(ctx);
      const startedAt = performance.now();
      const r = await claimBatch(claimDeps, limit, now);
      const committedAt = performance.now();
      metrics.claimRounds++;
      metrics.claimed += r.items.length;
      metrics.refusedAtClaim += r.refused;
      metrics.deferredAtClaim += r.deferred;
      metrics.cancelledAtClaim += r.cancelled;
      if (r.items.length) deps.onClaim?.({ items: r.items, startedAt, committedAt });
      return { started: r.items.map(run), settled: r.refused + r.deferred + r.cancelled, busy: r.busy };
    });
    claiming = round.catch(() => undefined);
    return round;
  };

  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      let busy = false;
      // Another worker was claiming for a number with due work: look again soon, not after a whole poll interval.
      let contended = false;
      const room = maxHeld - held.size;
      // Back-pressure: if the database falls behind with outcomes, stop taking new work until it catches up.
      if (held.size <= lowWater && room > 0 && outcomes.pending < 4 * config.batchSize) {
        try {
          const r = await claimRound(Math.min(config.batchSize, room));
          busy = r.started.length + r.settled > 0;
          contended = r.busy > 0;
        } catch (e) {
          ctx.logger.error({ err: e }, 'dispatch: claim failed');
        }
      }
      if (stopping) break;
      // Idle: poll again later. Full: wait for a message to finish (or the poll interval, whichever first).
      if (!busy || held.size > lowWater || outcomes.pending >= 4 * config.batchSize) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, busy || contended ? Math.min(config.pollMs, CONTENDED_POLL_MS) : config.pollMs);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
  };
  const looping = deps.autoStart === false ? Promise.resolve() : loop();

  return {
    workerId,
    metrics: () => ({ ...metrics }),
    async tick() {
      const r = await claimRound(config.batchSize);
      await Promise.all(r.started);
      await outcomes.flush();
      return r.started.length;
    },
    async stop() {
      stopping = true;
      notify(true);
      await looping;
      await claiming;
      while (held.size) await Promise.all([...held]);
      await outcomes.flush();
    },
  };
}
