// Delivers the fake Cloud API's signed status webhooks. Bounded in every direction: a fixed number of
// POSTs in flight, a capped backlog (overflow is dropped and counted), a timeout per POST. A delivery that
// fails (refused, non-2xx, timeout) is counted and forgotten: it must never crash or stall the fake.
import { sendSignedWebhook } from './webhook-builders.js';
import type { MetaEnvelope } from './webhook-builders.js';

/** The webhooks for one accepted message, built at delivery time and sent in order. */
export type WebhookJob = (() => MetaEnvelope)[];

export interface WebhookStats {
  delivered: number;
  failed: number;
  dropped: number;
}

export class WebhookEmitter {
  readonly stats: WebhookStats = { delivered: 0, failed: 0, dropped: 0 };
  private queue: WebhookJob[] = [];
  private head = 0;
  private active = 0;
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly controllers = new Set<AbortController>();
  private readonly running = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly appSecret: string,
    private readonly opts: { concurrency?: number; maxBacklog?: number; timeoutMs?: number } = {},
  ) {}

  private get backlog(): number {
    return this.queue.length - this.head + this.delayed.size;
  }

  enqueue(job: WebhookJob, delayMs = 0): void {
    if (this.closed) return;
    if (this.backlog >= (this.opts.maxBacklog ?? 100_000)) {
      this.stats.dropped += job.length;
      return;
    }
    if (delayMs > 0) {
      const t = setTimeout(() => {
        this.delayed.delete(t);
        this.push(job);
      }, delayMs);
      this.delayed.add(t);
    } else {
      this.push(job);
    }
  }

  /** Resolves once nothing is queued, delayed or in flight. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    this.queue = [];
    this.head = 0;
    for (const c of this.controllers) c.abort();
    await Promise.allSettled([...this.running]);
    this.wakeIdle();
  }

  private isIdle(): boolean {
    return this.backlog === 0 && this.active === 0;
  }

  private wakeIdle(): void {
    if (!this.isIdle() && !this.closed) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private push(job: WebhookJob): void {
    if (this.closed) return;
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 32;
    while (!this.closed && this.active < limit && this.head < this.queue.length) {
      const job = this.queue[this.head++] as WebhookJob;
      // Compact the consumed prefix now and then instead of shift()ing a long array on every job.
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.active++;
      const p = this.run(job).finally(() => {
        this.active--;
        this.running.delete(p);
        this.pump();
        this.wakeIdle();
      });
      this.running.add(p);
    }
  }

  private async run(job: WebhookJob): Promise<void> {
    const ctl = new AbortController();
    this.controllers.add(ctl);
    try {
      for (const build of job) {
        if (this.closed) return;
        try {
          const r = await sendSignedWebhook(this.url, build(), this.appSecret, {
            signal: ctl.signal,
            timeoutMs: this.opts.timeoutMs ?? 10_000,
          });
          if (r.status >= 200 && r.status < 300) this.stats.delivered++;
          else this.stats.failed++;
        } catch {
          this.stats.failed++;
        }
      }
    } finally {
      this.controllers.delete(ctl);
    }
  }
}
