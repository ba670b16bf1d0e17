/**
 * The send rate of one business number, shared by every worker: pure rules over the state kept in the number's
 * `number_pacing` row (storage/dispatch/number-pacing-store.ts). Clock-free: every function takes `now`.
 *
 * GCRA ("virtual scheduling"): the row holds the theoretical arrival time (TAT) of the number's next slot; a
 * claim that leases k messages takes the next k slots, each one interval after the last, and moves the TAT on.
 * The claim does so under the row's lock, so two workers never take the same slot and the slots of all workers
 * together are evenly spaced at the number's rate: Meta counts per number, whoever sends.
 *
 * - The claims of a busy number keep its TAT ahead of now (each reserves up to a horizon ahead, and claims come
 *   more often than that), so a claim's slots are still ahead when it commits and are not sent bunched.
 * - The interval is that of the rate less HEADROOM: timers and the start step make a send leave a few ms after
 *   its slot, and a late send followed by an on-time one must still leave the busiest second within the rate.
 * - A 130429 cuts the rate by a quarter and pauses the number for a second, for every worker; the rate then
 *   climbs back linearly over RECOVERY_MS. Only a call started after the last cut may cut again: the calls that
 *   were already on their way when the first 130429 came are the same overflow, not a new one.
 * - An account error (token, permission) pauses the number for every worker.
 */
import type { NumberPacingState } from '../../storage/dispatch/number-pacing-store.js';

export type NumberSlots = NumberPacingState;

export const SLOWDOWN_PAUSE_MS = 1000;
export const SLOWDOWN_FACTOR = 0.75;
export const RECOVERY_MS = 10_000;
/** Fraction of the rate left unused, so that send jitter keeps the busiest second within the rate. */
export const HEADROOM = 0.015;
/**
 * How late a call may start after its shared slot, when the number's schedule is full (its claims take every slot
 * their horizon allows): 20 ms. A message whose slot passed by more when its start step decides (a cold or busy
 * worker, a slow step) goes back to the queue for a new slot instead: started late, it would leave together with
 * other workers' on-time calls. A number with room in its schedule is sending below its rate: a late call there
 * cannot push a second over it, and is not held back. With the headroom, any second then holds its own slots and
 * at most 20 ms worth of late ones, within the rate + 2 %. A message that missed once is started late the next
 * time, so an overloaded worker still makes progress.
 */
export const LATE_SLOT_MS = 20;
const MIN_RATE = 1;

export const freshSlots = (rate: number, now: number): NumberSlots => ({
  tat: now,
  rate,
  configured: rate,
  adjustedAt: now,
  slowedAt: 0,
  pausedUntil: 0,
});

/** The state at `now` for the configured rate: a changed configuration taken, a slowdown recovered in part. */
export function current(s: NumberSlots, configured: number, now: number): NumberSlots {
  let rate = s.rate;
  if (s.configured !== configured) rate = Math.min(configured, rate === s.configured ? configured : rate);
  if (rate < configured && now > s.adjustedAt)
    rate = Math.min(configured, rate + (configured * (now - s.adjustedAt)) / RECOVERY_MS);
  return { ...s, rate, configured, adjustedAt: Math.max(s.adjustedAt, now) };
}

const intervalOf = (rate: number) => 1000 / (rate * (1 - HEADROOM));
const firstSlot = (s: NumberSlots, now: number) => Math.max(s.tat, now, s.pausedUntil);

/** How many slots could be taken now that fall within `horizonMs`. */
export function available(s: NumberSlots, now: number, horizonMs: number): number {
  const interval = intervalOf(s.rate);
  const room = now + horizonMs - firstSlot(s, now);
  return room < 0 ? 0 : Math.floor(room / interval) + 1;
}

/** Takes the next `count` slots: their times (whole ms, never before now) and the state after. */
export function take(s: NumberSlots, count: number, now: number): { slots: number[]; next: NumberSlots } {
  const interval = intervalOf(s.rate);
  const start = firstSlot(s, now);
  const slots = Array.from({ length: count }, (_, i) => Math.max(now, Math.floor(start + i * interval)));
  return { slots, next: count > 0 ? { ...s, tat: start + count * interval } : s };
}

/** 130429 for a call started at `callStartedAt`: slow down and pause, unless a later call already did. */
export function slowDown(s: NumberSlots, now: number, callStartedAt: number): NumberSlots {
  if (callStartedAt < s.slowedAt) return s;
  const pausedUntil = Math.max(s.pausedUntil, now + SLOWDOWN_PAUSE_MS);
  return {
    ...s,
    rate: Math.max(MIN_RATE, s.rate * SLOWDOWN_FACTOR),
    adjustedAt: now,
    slowedAt: now,
    pausedUntil,
    tat: Math.max(s.tat, pausedUntil),
  };
}

/** An account-level error: no slot of this number before `now + ms`, for any worker. */
export function pause(s: NumberSlots, now: number, ms: number): NumberSlots {
  const pausedUntil = Math.max(s.pausedUntil, now + ms);
  return { ...s, pausedUntil, tat: Math.max(s.tat, pausedUntil) };
}

/** 131056 to one recipient: 1, 4, 16, 64 … s (capped at 1024), growing while the errors repeat. */
export function recipientPenalty(strikes: number, now: number): { readyAt: number; strikes: number } {
  return { readyAt: now + Math.min(1024, 4 ** strikes) * 1000, strikes: strikes + 1 };
}
