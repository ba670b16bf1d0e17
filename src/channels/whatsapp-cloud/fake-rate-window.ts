// Sliding-window counter used by the fake Cloud API for per-number throughput (130429) and per-recipient
// pair limits (131056). Memory is bounded: at most `max` timestamps per key and at most `maxKeys` keys
// (least recently used keys are forgotten, which can only make the fake more permissive, never crash it).

export class SlidingWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {
    if (!(max >= 1) || !(windowMs > 0)) throw new Error('SlidingWindow needs max >= 1 and windowMs > 0');
  }

  /** Counts a hit at `now` and returns true, unless `max` hits already fall inside (now - windowMs, now]. */
  tryHit(key: string, now: number): boolean {
    const ts = this.hits.get(key) ?? [];
    this.hits.delete(key); // re-inserted below so Map order is least-recently-used first
    let expired = 0;
    while (expired < ts.length && (ts[expired] ?? 0) <= now - this.windowMs) expired++;
    if (expired > 0) ts.splice(0, expired);
    const allowed = ts.length < this.max;
    if (allowed) ts.push(now);
    this.hits.set(key, ts);
    if (this.hits.size > this.maxKeys) {
      const oldest = this.hits.keys().next();
      if (!oldest.done) this.hits.delete(oldest.value);
    }
    return allowed;
  }
}
