import type { CallTimes } from '../../storage/dispatch/dispatch-store.js';
import type { KindAndPayload } from '../../domain/messages.js';

import type { SendAccount } from '../../services/dispatch/business-info.js';

export type { SendAccount } from '../../services/dispatch/business-info.js';

/** A message claimed by this worker (status `sending`, leased to it), with all it takes to render and send it. */
export type DispatchItem = KindAndPayload & {
  id: string;
  businessId: string;
  personId: string;
  /** The payload as stored (the ledger helpers read it in that form). */
  rawPayload: string;
  relatedEventId: string | null;
  /** The try this is (attempts after the claim's increment): outcomes are written only while it still matches. */
  attempt: number;
  recipient: { phone: string | null; waId: string | null; bsuid: string | null };
  /** The person wrote to the business in the last 24 h: free-form messages are allowed. */
  windowOpen: boolean;
  business: { displayName: string; confirmationTemplate: { name: string; language: string } | null };
  /** Confirmations: the names of the topics confirmed (payload.topicKeys), in order. */
  topicNames: string[];
  topicKeys: string[];
  account: SendAccount | null;
  /** When its call may start: the slot the claim took from the number's shared schedule (absent: paced in process). */
  slotAt?: number;
  /**
   * The number's schedule was full when the slot was taken (the claim used every slot its horizon allowed): a late
   * start would then bunch with other workers' calls, so a slot missed by more than LATE_SLOT_MS is taken again.
   */
  slotFull?: boolean;
  /** The recipient has 131056 strikes on record: an accepted send clears them. */
  penalized?: boolean;
};

/** What the worker learnt about one message, to be written in a small transaction. */
export type Outcome =
  | { kind: 'sent'; providerMessageId: string; at: number }
  | { kind: 'retry'; notBefore: number; errorCode: string; detail: string; engagementTries?: number }
  | { kind: 'failed'; errorCode: string; detail: string; effect?: 'unreachable' | 'marketing_opt_out' }
  /** Never tried (stop, or its recipient was penalised while it waited): back to the queue, the try not counted. */
  | { kind: 'release'; notBefore: number }
  /**
   * No call: at the last re-check before the call the message was no longer this try's (`gone`: an opt-out or
   * erasure cancelled it), or the re-check settled it (cancelled, refused, or released until later) in the
   * same atomic step. Nothing left to write.
   */
  | { kind: 'skipped'; stopped: 'gone' | 'cancel' | 'refuse' | 'release' };

export interface OutcomeRecord {
  item: DispatchItem;
  outcome: Outcome;
  /** The provider call this outcome came from, if one was made. */
  call?: CallTimes;
}

/** Where the send path awaits: tests (the simulation) inject delays at each of these. */
export type SendPoint = 'claim' | 'pacer' | 'slot' | 'start' | 'call' | 'record';
/** Called at each await point of the send path; undefined in production (no extra await). */
export type PauseHook = (point: SendPoint) => Promise<void>;

/** Counters a worker keeps (and a metrics endpoint can expose). */
export interface WorkerMetrics {
  claimed: number;
  sent: number;
  failed: number;
  retried: number;
  released: number;
  refusedAtClaim: number;
  deferredAtClaim: number;
  cancelledAtClaim: number;
  /** Sent although an opt-out cancelled the row while the HTTP call was in flight (recorded as sent, with a note). */
  sentAfterCancel: number;
  /** Cancelled (an opt-out, an erasure) after the claim and before the call, and so never sent. */
  skippedCancelled: number;
  /** Settled by the last re-check just before the call (cancelled, refused or released), and so never sent. */
  stoppedAtStart: number;
  /** Start steps (re-check + "call started" mark, one per batch the pacer released together). */
  startBatches: number;
  /** Leases found expired: the message's outcome is unknown (IN_FLIGHT_AT_CRASH). */
  reapedUnknown: number;
  outcomeBatches: number;
  claimRounds: number;
  /** Put back for a new slot: their shared slot had passed when their start step decided (number-slots.ts). */
  missedSlots: number;
}

export const emptyMetrics = (): WorkerMetrics => ({
  claimed: 0,
  sent: 0,
  failed: 0,
  retried: 0,
  released: 0,
  refusedAtClaim: 0,
  deferredAtClaim: 0,
  cancelledAtClaim: 0,
  sentAfterCancel: 0,
  skippedCancelled: 0,
  stoppedAtStart: 0,
  startBatches: 0,
  reapedUnknown: 0,
  outcomeBatches: 0,
  claimRounds: 0,
  missedSlots: 0,
});
