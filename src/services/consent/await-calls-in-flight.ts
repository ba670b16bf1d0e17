/**
 * The last half of G1 ("no provider call starts after an opt-out is acknowledged"). The dispatch worker marks a
 * call started and hands it to the HTTP client in one atomic step with its last consent re-check, so no call of a
 * person can start after their opt-out commits. But a call handed over just before the commit may still be on its
 * way: its bytes can reach the provider a few milliseconds after the opt-out's answer. So the opt-out, after its
 * commit and before it is acknowledged, waits for the calls that were in flight at its commit (read under the
 * person's lock, `callsInFlight`) to end: their outcome written, which means the provider answered them, so they
 * reached it before the acknowledgement. Any process's calls are seen (the rows are in the database), so this holds
 * with many workers. Nearly always there is nothing to wait for and this costs nothing.
 *
 * Bounded: a call is itself bounded by the client's timeout; a worker that died mid-call leaves its row `sending`
 * until the reaper settles it, so after `CALL_WAIT_MS` the acknowledgement goes out anyway, and that is logged.
 */
import { stillInFlight } from '../../storage/dispatch/outbox-store.js';
import type { ServiceContext } from '../context.js';

/** Calls of one person that were in flight when their opt-out committed. */
export interface CallHold {
  businessId: string;
  personId: string;
  messageIds: string[];
}

/** Longer than the Cloud API client's timeout (10 s) plus an outcome write. */
export const CALL_WAIT_MS = 15_000;

/** Polling delays (ms): the first checks come quickly, the rest settle at 50 ms. */
const DELAYS = [2, 5, 10, 20, 50];

/** Resolves once every held call has ended, or after `CALL_WAIT_MS` of real time. */
export async function awaitCallsInFlight(ctx: ServiceContext, holds: readonly CallHold[]): Promise<void> {
  let open = holds.filter((h) => h.messageIds.length > 0);
  if (open.length === 0) return;
  const deadline = Date.now() + CALL_WAIT_MS;
  for (let i = 0; ; i++) {
    const next: CallHold[] = [];
    for (const h of open) {
      const ids = await stillInFlight(ctx.database.db, h.businessId, h.messageIds);
      if (ids.length) next.push({ ...h, messageIds: ids });
    }
    open = next;
    if (open.length === 0) return;
    if (Date.now() >= deadline) {
      ctx.logger.warn(
        { messages: open.flatMap((h) => h.messageIds) },
        'opt-out acknowledged while calls started before it had not ended',
      );
      return;
    }
    await new Promise((r) => setTimeout(r, DELAYS[Math.min(i, DELAYS.length - 1)]));
  }
}
