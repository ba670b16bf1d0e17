/**
 * Leases that ran out. A `sending` row whose lease expired belongs to a worker that died (or hung) in the
 * middle of a send: Meta may or may not have the message. Resending could message the person twice, and
 * dropping it could lose it, so it becomes `unknown` (IN_FLIGHT_AT_CRASH) and is surfaced instead:
 * - a status webhook that names it (biz_opaque_callback_data = our id, or its wamid) moves it on to
 *   sent / delivered / failed (services/whatsapp/apply-message-status.ts);
 * - otherwise `GET /v1/messages?status=unknown` lists it and `POST /v1/messages/:id/resolve` retries it
 *   (through the gate again) or drops it.
 */
import type { ServiceContext } from '../../services/context.js';
import { reapExpiredLeases } from '../../storage/dispatch/dispatch-store.js';

export async function reapLeases(ctx: ServiceContext): Promise<number> {
  return reapExpiredLeases(ctx.database.db, ctx.clock.now());
}

/** Runs the reaper at most every `everyMs` (it is one indexed UPDATE, but claims run many times a second). */
export class ReapSchedule {
  private last = -Infinity;

  constructor(private readonly everyMs: number) {}

  due(now: number): boolean {
    if (now - this.last < this.everyMs && now >= this.last) return false;
    this.last = now;
    return true;
  }
}
