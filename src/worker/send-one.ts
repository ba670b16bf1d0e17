/**
 * The life of one claimed message after the claim: render, wait for its pacing slot, send, and turn Meta's
 * answer into an outcome. Explicit states: claimed → (render failed → failed) → waiting → sending → outcome.
 */
import type { CloudClient, SendResult } from '../channels/whatsapp-cloud/client.js';
import type { Clock } from '../lib/clock.js';
import { recipientKey } from './claim.js';
import type { Pacer } from './pacer.js';
import { render } from './render.js';
import { ACCOUNT_PAUSE_MS, pacingEffectOf, planOutcome } from './retry-policy.js';
import type { DispatchItem, Outcome } from './types.js';

export interface SendDeps {
  cloud: CloudClient;
  pacer: Pacer;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Bounded concurrency of HTTP calls. */
  acquire: () => Promise<() => void>;
  /** Reads whether the message is still leased to this try (not cancelled since the claim). */
  stillLeased: (item: DispatchItem) => Promise<boolean>;
}

/**
 * A message that waited at least this long for its pacing slot is checked again before it leaves: an
 * opt-out may have cancelled it meanwhile. (One indexed read, only when the pacer holds messages back, so
 * at most the number's rate per second; a message sent straight after its claim was checked microseconds ago.)
 */
export const RECHECK_AFTER_WAIT_MS = 20;

export async function sendOne(d: SendDeps, item: DispatchItem): Promise<Outcome> {
  const account = item.account;
  if (!account) {
    return { kind: 'failed', errorCode: 'CHANNEL_NOT_CONFIGURED', detail: 'The business has no WhatsApp Cloud API number and token configured.' };
  }
  const rendered = render(item);
  if (!rendered.ok) return { kind: 'failed', errorCode: rendered.errorCode, detail: rendered.detail };

  const number = account.phoneNumberId;
  const rk = recipientKey(item.businessId, item.recipient);
  const claimedAt = d.clock.now();
  const slot = d.pacer.reserve(number, account.ratePerSecond, claimedAt);
  if (slot > claimedAt) {
    await d.sleep(slot - claimedAt);
    // While it waited, Meta may have slowed the number (130429), paused it (account error) or penalised this
    // recipient (131056): then it goes back to the queue, the try not counted, instead of hitting the limit.
    const now = d.clock.now();
    const blockedUntil = Math.max(d.pacer.recipientReadyAt(rk), d.pacer.pausedUntil(number));
    if (blockedUntil > now) {
      d.pacer.unreserve(number, account.ratePerSecond, now);
      return { kind: 'release', notBefore: blockedUntil };
    }
    if (now - claimedAt >= RECHECK_AFTER_WAIT_MS && !(await d.stillLeased(item))) return { kind: 'skipped' };
  }

  const release = await d.acquire();
  let result: SendResult;
  try {
    // The send-time guard: no more than the number's rate in any second, whatever the timers did.
    for (let w = d.pacer.sendWait(number, account.ratePerSecond, d.clock.now()); w > 0; w = d.pacer.sendWait(number, account.ratePerSecond, d.clock.now())) {
      await d.sleep(w);
    }
    d.pacer.noteSent(number, d.clock.now());
    result = await d.cloud.send(number, account.accessToken, rendered.body);
  } finally {
    release();
  }

  const now = d.clock.now();
  let recipientReadyAt: number | undefined;
  switch (pacingEffectOf(result)) {
    case 'slow_number':
      d.pacer.slowDown(number, account.ratePerSecond, now);
      break;
    case 'pause_number':
      d.pacer.pause(number, account.ratePerSecond, now, ACCOUNT_PAUSE_MS);
      break;
    case 'penalize_recipient':
      recipientReadyAt = d.pacer.penalizeRecipient(rk, now);
      break;
    case 'recipient_ok':
      d.pacer.recipientOk(rk);
      break;
    default:
      break;
  }
  const engagementTries = typeof item.payload.engagementTries === 'number' ? item.payload.engagementTries : 0;
  const plan = planOutcome({
    result, attempt: item.attempt, now, random: d.random, engagementTries, phone: item.recipient.phone, recipientReadyAt,
  });
  return plan.kind === 'sent' ? { kind: 'sent', providerMessageId: plan.providerMessageId, at: now } : plan;
}
