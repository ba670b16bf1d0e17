import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric of one process, on a registry this object owns (never prom-client's global one):
 * created once at startup (main.ts / buildApp) and passed where things are counted (ServiceContext.metrics,
 * the HTTP app). Two apps in one process (tests) never share counts.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'optline_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly webhookItemsReceived = new Counter({
    name: 'optline_webhook_items_received_total',
    help: 'Items in signed WhatsApp webhook POSTs',
    registers: [this.registry],
  });
  readonly webhookItemsStored = new Counter({
    name: 'optline_webhook_items_stored_total',
    help: 'WhatsApp webhook items newly stored in the inbox (duplicates not counted)',
    registers: [this.registry],
  });
  readonly inboxLag = new Histogram({
    name: 'optline_inbox_lag_seconds',
    help: 'Time from storing an inbox item to processing it',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });
  readonly gateOutcomes = new Counter({
    name: 'optline_gate_outcomes_total',
    help: 'Send-gate decisions, by outcome and reason (NONE when allowed)',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });
  readonly dispatchSends = new Counter({
    name: 'optline_dispatch_sends_total',
    help: 'Provider sends by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly providerLatency = new Histogram({
    name: 'optline_provider_latency_seconds',
    help: 'Provider API call duration',
    labelNames: ['provider'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly optOutToBlock = new Histogram({
    name: 'optline_opt_out_to_block_seconds',
    help: 'Time from an opt-out reaching Optline to its commit (after which the gate refuses)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly up = new Gauge({
    name: 'optline_up',
    help: '1 while this process serves',
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    this.up.set(1);
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'optline_process_' });
  }

  /** Counts one gate decision: `allow` with reason NONE, else one count per reason code. */
  countDecision(d: { outcome: string; reasons: readonly { code: string }[] }): void {
    if (d.reasons.length === 0) this.gateOutcomes.inc({ outcome: d.outcome, reason: 'NONE' });
    for (const r of d.reasons) this.gateOutcomes.inc({ outcome: d.outcome, reason: r.code });
  }

  /** A message whose shared slot had passed went back to the queue (worker/dispatch/number-slots.ts). */
  countMissedSlot(): void {
    this.dispatchSends.inc({ result: 'missed_slot' });
  }

  /** Counts one provider call: its result (sent, or the error's classification) and its duration. */
  countSend(result: string, durationMs: number, provider = 'whatsapp_cloud'): void {
    this.dispatchSends.inc({ result });
    this.providerLatency.observe({ provider }, Math.max(0, durationMs) / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
