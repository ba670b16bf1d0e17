/**
 * Send pacing, pure and clock-free: every method takes `now`. Two limits:
 *
 * - per business number, a rate (Meta: 80 msg/s by default) kept with GCRA, the "virtual scheduling" form of a
 *   token bucket: each number has a theoretical arrival time (TAT) and each reservation moves it on by one
 *   interval. Sends are therefore spaced evenly, so no sliding second ever holds more than `rate` sends (Meta
 *   counts per second; a bucket that starts full would burst `rate` extra sends into the first second);
 * - per recipient, a least spacing (default 0) plus the penalty of a 131056 pair-rate error (4^n seconds).
 *
 * Timers fire late on a busy machine, so slots scheduled apart can leave together. A second guard, at the
 * moment of sending, keeps the actual send times of a number to at most `rate` in any second plus a small
 * margin (Meta counts what arrives, not what we scheduled).
 *
 * A 130429 (the number's throughput exceeded: inbound traffic and other processes share it) cuts the
 * number's rate by a quarter and pauses it for a second; the rate then climbs back linearly over ten seconds.
 */
export interface PacerOptions {
  /** Sends a number may make at once beyond its spacing (1 = strictly even spacing). */
  burst?: number;
  /** Least time between two sends to one recipient, ms. */
  recipientSpacingMs?: number;
  /** Added to the one-second window of the send-time guard, to absorb jitter between us and Meta (default 10 ms). */
  windowMarginMs?: number;
}

/** Send times of one number within the last window, oldest first (a queue with a moving head). */
class SendTimes {
  private times: number[] = [];
  private head = 0;

  get size(): number {
    return this.times.length - this.head;
  }

  dropUpTo(t: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= t) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  /** The i-th newest (0 = newest). */
  fromEnd(i: number): number {
    return this.times[this.times.length - 1 - i]!;
  }

  push(t: number): void {
    this.times.push(t);
  }
}

interface NumberState {
  configured: number;
  rate: number; // effective rate, msg/s (lowered by 130429, recovering)
  tat: number; // when the next send may go
  adjustedAt: number;
  pausedUntil: number;
}

interface RecipientState {
  readyAt: number;
  strikes: number; // 131056 in a row
}

export const SLOWDOWN_PAUSE_MS = 1000;
export const SLOWDOWN_FACTOR = 0.75;
export const RECOVERY_MS = 10_000;
const MIN_RATE = 1;
const PAIR_PENALTY_CAP_S = 1024;
const MAX_RECIPIENTS = 100_000;

export class Pacer {
  private readonly numbers = new Map<string, NumberState>();
  private readonly recipients = new Map<string, RecipientState>();
  private readonly sent = new Map<string, SendTimes>();
  private readonly burst: number;
  private readonly recipientSpacingMs: number;
  private readonly windowMs: number;

  constructor(opts: PacerOptions = {}) {
    this.burst = Math.max(1, opts.burst ?? 1);
    this.recipientSpacingMs = Math.max(0, opts.recipientSpacingMs ?? 0);
    this.windowMs = 1000 + Math.max(0, opts.windowMarginMs ?? 10);
  }

  /**
   * The send-time guard: how long to wait before a send on this number may leave, so that no window of
   * one second (plus margin) holds more than `rate` sends. 0 means now; call noteSent right after.
   */
  sendWait(key: string, rate: number, now: number): number {
    const w = this.sent.get(key);
    if (!w) return 0;
    w.dropUpTo(now - this.windowMs);
    const limit = Math.max(1, Math.floor(rate));
    if (w.size < limit) return 0;
    return Math.max(1, Math.ceil(w.fromEnd(limit - 1) + this.windowMs - now));
  }

  noteSent(key: string, now: number): void {
    let w = this.sent.get(key);
    if (!w) this.sent.set(key, (w = new SendTimes()));
    w.push(now);
  }

  private number(key: string, rate: number, now: number): NumberState {
    let s = this.numbers.get(key);
    if (!s) {
      s = { configured: rate, rate, tat: now, adjustedAt: now, pausedUntil: 0 };
      this.numbers.set(key, s);
    }
    if (s.configured !== rate) {
      // The business changed its number's rate: take the new one (keeping a slowdown in force if lower).
      s.rate = Math.min(rate, s.rate === s.configured ? rate : s.rate);
      s.configured = rate;
    }
    if (s.rate < s.configured && now > s.adjustedAt) {
      s.rate = Math.min(s.configured, s.rate + (s.configured * (now - s.adjustedAt)) / RECOVERY_MS);
    }
    s.adjustedAt = Math.max(s.adjustedAt, now);
    return s;
  }

  /** Current effective rate of a number (msg/s). */
  rateOf(key: string, rate: number, now: number): number {
    return this.number(key, rate, now).rate;
  }

  /** How many sends could be reserved on this number to go no later than `now + horizonMs`. */
  available(key: string, rate: number, now: number, horizonMs: number): number {
    const s = this.number(key, rate, now);
    const interval = 1000 / s.rate;
    const start = Math.max(s.tat, now, s.pausedUntil);
    const room = now + horizonMs + (this.burst - 1) * interval - start;
    return room < 0 ? 0 : Math.floor(room / interval) + 1;
  }

  /**
   * Reserves the next slot of a number; returns when the send may go (>= now, whole ms). Rounded down: at
   * high rates many slots fall within one millisecond and must not each wait for a timer.
   */
  reserve(key: string, rate: number, now: number): number {
    const s = this.number(key, rate, now);
    const interval = 1000 / s.rate;
    const start = Math.max(s.tat, now, s.pausedUntil);
    s.tat = start + interval;
    return Math.max(now, Math.floor(start - (this.burst - 1) * interval));
  }

  /** Gives back a reservation that was not used (the message was released before its slot). */
  unreserve(key: string, rate: number, now: number): void {
    const s = this.number(key, rate, now);
    s.tat = Math.max(now, s.tat - 1000 / s.rate);
  }

  /** 130429: slow the number down and pause it briefly. */
  slowDown(key: string, rate: number, now: number): void {
    const s = this.number(key, rate, now);
    s.rate = Math.max(MIN_RATE, s.rate * SLOWDOWN_FACTOR);
    s.adjustedAt = now;
    s.pausedUntil = Math.max(s.pausedUntil, now + SLOWDOWN_PAUSE_MS);
    s.tat = Math.max(s.tat, s.pausedUntil);
  }

  /** An account-level error (token, permission, blocked WABA): no sends on this number for a while. */
  pause(key: string, rate: number, now: number, ms: number): void {
    const s = this.number(key, rate, now);
    s.pausedUntil = Math.max(s.pausedUntil, now + ms);
    s.tat = Math.max(s.tat, s.pausedUntil);
  }

  /** Until when the number is paused (130429 or an account error); 0 when it is not. */
  pausedUntil(key: string): number {
    return this.numbers.get(key)?.pausedUntil ?? 0;
  }

  /** Earliest time a message to this recipient may go. */
  recipientReadyAt(recipient: string): number {
    return this.recipients.get(recipient)?.readyAt ?? 0;
  }

  /** A message to this recipient was claimed to go now: later ones wait the least spacing. */
  noteRecipientClaimed(recipient: string, now: number): void {
    if (this.recipientSpacingMs === 0) return;
    const r = this.recipient(recipient, now);
    r.readyAt = Math.max(r.readyAt, now + this.recipientSpacingMs);
  }

  /** 131056: delay only this recipient, 1, 4, 16, 64 … s (capped), growing while the errors repeat. */
  penalizeRecipient(recipient: string, now: number): number {
    const r = this.recipient(recipient, now);
    const delayMs = Math.min(PAIR_PENALTY_CAP_S, 4 ** r.strikes) * 1000;
    r.strikes += 1;
    r.readyAt = Math.max(r.readyAt, now + delayMs);
    return r.readyAt;
  }

  /** A send to this recipient was accepted: the pair-rate penalty starts again from 1 s next time. */
  recipientOk(recipient: string): void {
    const r = this.recipients.get(recipient);
    if (r) r.strikes = 0;
  }

  private recipient(key: string, now: number): RecipientState {
    let r = this.recipients.get(key);
    if (!r) {
      if (this.recipients.size >= MAX_RECIPIENTS) this.prune(now);
      r = { readyAt: 0, strikes: 0 };
      this.recipients.set(key, r);
    }
    return r;
  }

  /** Forgets recipients with nothing pending (memory stays bounded under millions of recipients). */
  private prune(now: number): void {
    for (const [k, r] of this.recipients) if (r.readyAt <= now) this.recipients.delete(k);
    // Still full (a flood of penalties): drop the oldest entries; a forgotten penalty only means Meta may
    // answer 131056 once more, which is retried.
    while (this.recipients.size >= MAX_RECIPIENTS) {
      const first = this.recipients.keys().next();
      if (first.done) break;
      this.recipients.delete(first.value);
    }
  }
}
