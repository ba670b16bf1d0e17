import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ServiceContext } from '../services/context.js';
import { releaseLease, takeLease } from '../storage/shared/lease-store.js';

/** The loops that run once per database, whichever process runs them (process_leases.name). */
export type LeaseName = 'inbox-processor' | 'housekeeping';

/** Lease length and renewal period: a process that died is replaced within LEASE_TTL_MS (+ one renewal period). */
export const LEASE_TTL_MS = 15_000;
export const LEASE_RENEW_MS = 5_000;
/**
 * The holder stops counting on its lease this long before it runs out, so clocks a little apart (the lease's
 * times are each process's clock) never let two processes believe they hold it at once.
 */
export const LEASE_MARGIN_MS = 2_000;

/** One id per process, shown in /readyz: the host and pid say which process holds what. */
export const processHolderId = (() => {
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  return () => id;
})();

export interface Lease {
  readonly name: LeaseName;
  readonly holder: string;
  /** Whether this process holds the lease now (by its last successful take or renewal). */
  held(): boolean;
  /** One attempt to take or renew it (the timer calls this; tests call it with a manual clock). */
  tick(): Promise<boolean>;
  /** Stops renewing and releases the lease, so another process takes it at its next try. */
  stop(): Promise<void>;
}

/**
 * A lease on a once-per-database loop. Exactly one process holds it at a time (storage/shared/lease-store.ts);
 * the holder renews it every LEASE_RENEW_MS, any other process takes it over once it ran out. The loops guarded
 * by leases are safe when run twice (each item is claimed in its own transaction): the lease saves the work and
 * keeps one order, it does not carry a safety property.
 */
export function createLease(ctx: ServiceContext, name: LeaseName, o: { holder?: string; ttlMs?: number } = {}): Lease {
  const holder = o.holder ?? processHolderId();
  const ttlMs = o.ttlMs ?? LEASE_TTL_MS;
  let heldUntil = 0;
  let stopped = false;
  return {
    name,
    holder,
    held: () => !stopped && ctx.clock.now() < heldUntil - LEASE_MARGIN_MS,
    async tick() {
      if (stopped) return false;
      const now = ctx.clock.now();
      const before = heldUntil > now;
      const ok = await takeLease(ctx.database.db, name, holder, now, ttlMs);
      heldUntil = ok ? now + ttlMs : 0;
      if (ok !== before) ctx.logger.info({ lease: name, holder }, ok ? 'lease taken' : 'lease lost');
      return ok;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (heldUntil > 0) await releaseLease(ctx.database.db, name, holder, ctx.clock.now());
      heldUntil = 0;
    },
  };
}

/** createLease with its renewal timer running (the first attempt at once). */
export function startLease(
  ctx: ServiceContext,
  name: LeaseName,
  o: { holder?: string; ttlMs?: number; renewMs?: number } = {},
): Lease {
  const lease = createLease(ctx, name, o);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = lease
      .tick()
      .catch((err: unknown) => ctx.logger.warn({ err, lease: name }, 'lease renewal failed; it is tried again'))
      .finally(() => {
        if (!stopped) (timer = setTimeout(tick, o.renewMs ?? LEASE_RENEW_MS)).unref();
      });
  };
  tick();
  return {
    ...lease,
    held: lease.held,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await lease.stop();
    },
  };
}
