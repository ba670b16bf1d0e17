/**
 * The life of one claimed message after the claim: render, wait for its pacing slot and a concurrency slot,
 * start (the last consent re-check and the "call started" mark, atomic with handing the call to the client),
 * and turn Meta's answer into an outcome. Explicit states: claimed → (render failed → failed) → waiting →
 * starting → (stopped) | call started → outcome.
 */
import type { CloudClient, SendResult } from '../../channels/whatsapp-cloud/client.js';
import type { Metrics } from '../../lib/metrics.js';
import type { Clock } from '../../lib/clock.js';
import type { CallTimes } from '../../storage/dispatch/dispatch-store.js';
import { recipientKey } from './claim.js';
import type { Pacer } from './pacer.js';
import { render } from './render.js';
import { ACCOUNT_PAUSE_MS, pacingEffectOf, planOutcome } from './retry-policy.js';
import type { SharedPacing } from './shared-pacing.js';
import type { StartGate, StartOutcome } from './start-gate.js';
import type { DispatchItem, Outcome, PauseHook } from './types.js';

export interface SendDeps {
  cloud: CloudClient;
  pacer: Pacer;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Bounded concurrency of HTTP calls. */
  acquire: () => Promise<() => void>;
  /** Where every call starts: re-check + mark + hand-over, batched. */
  starts: Pick<StartGate, 'start'>;
  /** Injected delays at the await points (tests). */
  pause?: PauseHook;
  /** The process's metrics (sends by result, provider latency), when it has them. */
  metrics?: Metrics;
  /** Where a provider's answer about the number or the recipient is told to every worker. */
  shared?: SharedPacing;
}

export interface SendOutcome {
  outcome: Outcome;
  /** The call made, if one was. */
  call?: CallTimes;
}

/** The start step failed before the message's call was handed to the client: no call was made. */
export class StartStepFailed extends Error {
  constructor(readonly reason: unknown) {
    super('the start step failed before the call was handed over');
    this.name = 'StartStepFailed';
  }
}

export async function sendOne(d: SendDeps, item: DispatchItem): Promise<SendOutcome> {
  const account = item.account;
  if (!account) {
    return {
      outcome: {
        kind: 'failed',
        errorCode: 'CHANNEL_NOT_CONFIGURED',
        detail: 'The business has no WhatsApp Cloud API number and token configured.',
      },
    };
  }
  const rendered = render(item);
  if (!rendered.ok) return { outcome: { kind: 'failed', errorCode: rendered.errorCode, detail: rendered.detail } };

  const number = account.phoneNumberId;
  const rk = recipientKey(item.businessId, item.recipient);
  const claimedAt = d.clock.now();
  // The slot the claim took from the number's shared schedule; without one (tests), the in-process pacer's.
  const local = item.slotAt === undefined;
  const slot = item.slotAt ?? d.pacer.reserve(number, account.ratePerSecond, claimedAt);
  if (slot > claimedAt) {
    if (d.pause) await d.pause('pacer');
    await d.sleep(Math.max(0, slot - d.clock.now()));
    // While it waited, Meta may have slowed the number (130429), paused it (account error) or penalised this
    // recipient (131056): then it goes back to the queue, the try not counted, instead of hitting the limit.
    const now = d.clock.now();
    const blockedUntil = Math.max(d.pacer.recipientReadyAt(rk), d.pacer.pausedUntil(number));
    if (blockedUntil > now) {
      if (local) d.pacer.unreserve(number, account.ratePerSecond, now);
      return { outcome: { kind: 'release', notBefore: blockedUntil } };
    }
  }

  if (d.pause) await d.pause('slot');
  const release = await d.acquire();
  let result: SendResult;
  let startedAt: number;
  try {
    // The send-time guard (no more than the number's rate in any second, whatever the timers did), asked when
    // the start step is about to run.
    const admit = (now: number) => {
      const w = d.pacer.sendWait(number, account.ratePerSecond, now);
      if (w === 0) d.pacer.noteSent(number, now);
      return w;
    };
    const call = () => d.cloud.send(number, account.accessToken, rendered.body);
    // However long the message waited since its claim, the call starts only in one atomic step with the last
    // re-check of its consent (an opt-out acknowledged before that step stops it).
    let started: StartOutcome;
    for (;;) {
      if (d.pause) await d.pause('start');
      try {
        started = await d.starts.start(item, call, admit);
      } catch (e) {
        // The step failed (the database) before this message's call was handed over: nothing was sent.
        throw new StartStepFailed(e);
      }
      if (started.kind !== 'wait') break;
      await d.sleep(started.ms);
    }
    if (started.kind === 'stopped') return { outcome: { kind: 'skipped', stopped: started.result.action } };
    startedAt = started.at;
    result = await started.result;
    if (d.pause) await d.pause('call');
  } finally {
    release();
  }

  const now = d.clock.now();
  const call: CallTimes = { startedAt, endedAt: Math.max(now, startedAt) };
  d.metrics?.countSend(result.ok ? 'sent' : result.classification.kind, call.endedAt - call.startedAt);
  let recipientReadyAt: number | undefined;
  switch (pacingEffectOf(result)) {
    case 'slow_number':
      d.pacer.slowDown(number, account.ratePerSecond, now);
      await d.shared?.slowDown(item, now, startedAt);
      break;
    case 'pause_number':
      d.pacer.pause(number, account.ratePerSecond, now, ACCOUNT_PAUSE_MS);
      await d.shared?.pause(item, now, ACCOUNT_PAUSE_MS);
      break;
    case 'penalize_recipient': {
      // The shared count of strikes decides (another worker may have had one too); this process's when it is unknown.
      const local = d.pacer.penalizeRecipient(rk, now);
      recipientReadyAt = (await d.shared?.penalize(item, now)) || local;
      break;
    }
    case 'recipient_ok':
      d.pacer.recipientOk(rk);
      if (item.penalized) await d.shared?.recipientOk(item);
      break;
    default:
      break;
  }
  const engagementTries = typeof item.payload.engagementTries === 'number' ? item.payload.engagementTries : 0;
  const plan = planOutcome({
    result,
    attempt: item.attempt,
    now,
    random: d.random,
    engagementTries,
    phone: item.recipient.phone,
    recipientReadyAt,
  });
  return {
    outcome: plan.kind === 'sent' ? { kind: 'sent', providerMessageId: plan.providerMessageId, at: now } : plan,
    call,
  };
}
