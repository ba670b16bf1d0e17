import type { ServiceContext } from '../../services/context.js';
import { postSigned } from '../../channels/webhooks-out/sender.js';
import { isPrivateAddress } from '../../services/webhooks-out/check-target.js';
import { DISABLE_AFTER_FAILURES, RETRY_WINDOW_MS, nextRetryDelayMs } from '../../domain/webhooks/events.js';
import { claimDue, recordAttempt, type ClaimedDelivery } from '../../storage/webhooks/webhook-store.js';

export interface WebhookWorkerOptions {
  allowPrivate: boolean;
  batchSize?: number;
  leaseMs?: number;
  timeoutMs?: number;
  pollMs?: number;
  /** [0, 1): jitter source (tests pass a seeded one). */
  random?: () => number;
}

/** What one pass did: counted, so tests assert progress instead of time. */
export interface PassResult {
  claimed: number;
  delivered: number;
  retried: number;
  failed: number;
  disabled: number;
}

function withPhone(c: ClaimedDelivery): string {
  if (!c.endpoint.include_phone) return c.delivery.payload;
  const body = JSON.parse(c.delivery.payload) as { data: Record<string, unknown> };
  body.data.phone = c.phone;
  return JSON.stringify(body);
}

/**
 * One pass: claims the due deliveries, posts each (signed), records the outcome. A failure is retried with
 * exponential backoff and jitter (domain/webhooks/events.ts) until 3 days after the delivery was created;
 * an endpoint whose failures run for 3 days, or DISABLE_AFTER_FAILURES attempts in a row, is disabled with
 * the reason (its queue is failed; replay re-queues it once re-enabled).
 */
export async function runWebhookPass(ctx: ServiceContext, o: WebhookWorkerOptions): Promise<PassResult> {
  const now = ctx.clock.now();
  const random = o.random ?? Math.random;
  const claimed = await claimDue(ctx.database, now, now + (o.leaseMs ?? 60_000), o.batchSize ?? 50);
  const res: PassResult = { claimed: claimed.length, delivered: 0, retried: 0, failed: 0, disabled: 0 };
  await Promise.all(
    claimed.map(async (c) => {
      let secret: string;
      try {
        secret = ctx.keyring.decrypt(c.endpoint.secret_sealed);
      } catch {
        secret = '';
      }
      const r = secret
        ? await postSigned({
            url: c.endpoint.url,
            secret,
            msgId: c.delivery.id,
            at: ctx.clock.now(),
            body: withPhone(c),
            timeoutMs: o.timeoutMs ?? 10_000,
            refuseAddress: (a) =>
              !o.allowPrivate && isPrivateAddress(a)
                ? `refused: ${a} is a private, loopback or link-local address`
                : null,
          })
        : { ok: false, status: null, error: 'endpoint secret unreadable' };
      const at = ctx.clock.now();
      if (r.ok) {
        res.delivered++;
        await recordAttempt(ctx.database, c, r, at, null, null);
        return;
      }
      const failures = Number(c.endpoint.consecutive_failures) + 1;
      const since = c.endpoint.failing_since === null ? at : Number(c.endpoint.failing_since);
      const retryAt = at + nextRetryDelayMs(Number(c.delivery.attempts) + 1, random());
      const giveUp = retryAt - Number(c.delivery.created_at) > RETRY_WINDOW_MS;
      // A delivery gives up within one backoff step (≤ 7.2 h) of 3 days: an endpoint that failed all that time
      // counts as failing for 3 days, or the last delivery would give up without ever disabling it.
      const failingFor = at - since;
      const disable =
        failingFor >= RETRY_WINDOW_MS || (giveUp && failingFor >= RETRY_WINDOW_MS - 8 * 3600_000)
          ? `failing continuously for 3 days (last: ${r.error})`
          : failures >= DISABLE_AFTER_FAILURES
            ? `${failures} consecutive failed deliveries (last: ${r.error})`
            : null;
      await recordAttempt(ctx.database, c, r, at, giveUp || disable ? null : retryAt, disable);
      if (disable) res.disabled++;
      if (giveUp || disable) res.failed++;
      else res.retried++;
      ctx.logger.warn(
        { endpointId: c.endpoint.id, deliveryId: c.delivery.id, status: r.status, reason: r.error },
        'webhook delivery failed',
      );
    }),
  );
  return res;
}

/** Runs passes every pollMs (immediately again while a pass found a full batch); stop() drains the current pass. */
export function startWebhookDeliveryWorker(ctx: ServiceContext, o: WebhookWorkerOptions): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    running = runWebhookPass(ctx, o)
      .then((r) => r.claimed >= (o.batchSize ?? 50))
      .catch((err: unknown) => {
        ctx.logger.error({ err }, 'webhook delivery pass failed; it runs again later');
        return false;
      })
      .then((more) => {
        if (!stopped) {
          timer = setTimeout(tick, more ? 0 : (o.pollMs ?? 1000));
          timer.unref();
        }
      });
  };
  timer = setTimeout(tick, o.pollMs ?? 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
