/**
 * Group commit for send outcomes. Outcomes wait up to `lingerMs` (or until `maxBatch` are waiting) and are
 * written together in one transaction: on SQLite every commit is an fsync, so one commit per few hundred
 * sends instead of one per send is what keeps the database from limiting the send rate. While a batch is
 * being written, new outcomes gather for the next one.
 *
 * An outcome waiting here is not yet durable. If the process dies now, its message stays `sending` until
 * its lease runs out and the reaper marks it `unknown`: a status webhook or an operator settles it, it is
 * never resent on a guess.
 */
import type { OutcomeRecord } from './types.js';

export class OutcomeQueue {
  private buf: { rec: OutcomeRecord; done: () => void }[] = [];
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly write: (batch: OutcomeRecord[]) => Promise<void>,
    private readonly opts: { maxBatch: number; lingerMs: number },
  ) {}

  /** Outcomes not yet committed. */
  get pending(): number {
    return this.buf.length;
  }

  /** Resolves when this outcome is committed (or given up; see writeOutcomes). */
  add(rec: OutcomeRecord): Promise<void> {
    return new Promise<void>((done) => {
      this.buf.push({ rec, done });
      if (this.buf.length >= this.opts.maxBatch) this.kick();
      else if (!this.timer && !this.running) this.timer = setTimeout(() => this.kick(), this.opts.lingerMs);
    });
  }

  /** Writes everything added so far, now, and resolves when it is committed. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.running) await this.running;
      else if (this.buf.length) this.kick();
      else return;
    }
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running || this.buf.length === 0) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      // What arrived during the write: the next batch, after its own linger.
      if (this.buf.length >= this.opts.maxBatch) this.kick();
      else if (this.buf.length && !this.timer) this.timer = setTimeout(() => this.kick(), this.opts.lingerMs);
    });
  }

  private async drain(): Promise<void> {
    const batch = this.buf.splice(0, this.opts.maxBatch);
    try {
      await this.write(batch.map((b) => b.rec));
    } finally {
      for (const b of batch) b.done();
    }
  }
}
