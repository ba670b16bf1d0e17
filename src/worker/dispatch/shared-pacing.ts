/**
 * What a provider's answer tells every worker: a 130429 slows the number down and pauses it, an account error
 * pauses it, a 131056 penalises the recipient, an accepted send clears the recipient's strikes. Written to the
 * shared rows at once (a short transaction of its own), so the next claim of any worker sees it. The rules are in
 * number-slots.ts; a failed write is logged and the send's outcome is recorded as usual (the in-process pacer
 * still slows this worker).
 */
import type { Logger } from '../../lib/logger.js';
import type { Database } from '../../storage/db.js';
import {
  clearRecipientPenalties,
  penalizeRecipient,
  updateNumber,
} from '../../storage/dispatch/number-pacing-store.js';
import { freshSlots, pause, recipientPenalty, slowDown } from './number-slots.js';
import type { DispatchItem } from './types.js';

export interface SharedPacing {
  slowDown(item: DispatchItem, now: number, callStartedAt: number): Promise<void>;
  pause(item: DispatchItem, now: number, ms: number): Promise<void>;
  /** Returns when the recipient may be tried again (0 if the write failed). */
  penalize(item: DispatchItem, now: number): Promise<number>;
  recipientOk(item: DispatchItem): Promise<void>;
}

export function sharedPacing(database: Database, logger: Pick<Logger, 'error'>): SharedPacing {
  const guard = async <T>(what: string, item: DispatchItem, fallback: T, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      logger.error({ err: e, messageId: item.id }, `dispatch: could not record ${what} for every worker`);
      return fallback;
    }
  };
  const number = (item: DispatchItem, now: number, change: Parameters<typeof updateNumber>[5]) => {
    const a = item.account!;
    return updateNumber(database, item.businessId, a.phoneNumberId, freshSlots(a.ratePerSecond, now), now, change);
  };
  return {
    slowDown: (item, now, startedAt) =>
      guard('a 130429', item, undefined, async () => {
        await number(item, now, (s) => slowDown(s, now, startedAt));
      }),
    pause: (item, now, ms) =>
      guard('an account pause', item, undefined, async () => {
        await number(item, now, (s) => pause(s, now, ms));
      }),
    penalize: (item, now) =>
      guard('a 131056', item, 0, () =>
        penalizeRecipient(database, item.businessId, item.personId, now, (strikes) => recipientPenalty(strikes, now)),
      ),
    recipientOk: (item) =>
      guard('an accepted send', item, undefined, () =>
        clearRecipientPenalties(database.db, item.businessId, [item.personId]),
      ),
  };
}
