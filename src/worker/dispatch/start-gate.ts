/**
 * The last moment before a provider call. Messages that are ready to call (their pacing slot came, they hold
 * a concurrency slot) are gathered for one turn of the event loop and started together through the storage
 * port (storage/dispatch/send-start.ts): the consent re-check and the "call started" mark in one atomic step per batch,
 * and the calls handed to the client inside that step. Up to `port.parallel` steps run at once per worker (1 on
 * SQLite); what is ready in one turn is shared among the free ones, and what arrives while they run is the next
 * batch. So a pacer release of many messages costs a few steps, not one commit per message.
 */
import { LATE_SLOT_MS } from './number-slots.js';
import type { Kysely } from 'kysely';
import type { SendResult } from '../../channels/whatsapp-cloud/client.js';
import type { Clock } from '../../lib/clock.js';
import type { DB } from '../../storage/schema.js';
import type {
  SendStart,
  StartDecision,
  StartFacts,
  StartRequest,
  StartResult,
} from '../../storage/dispatch/send-start.js';
import type { BusinessInfo, BusinessInfoCache } from '../../services/dispatch/business-info.js';
import type { PauseHook } from './types.js';
import type { DispatchItem } from './types.js';
import { verdictFor } from '../../services/dispatch/verdict.js';

/** At most this many messages per start step. */
export const START_BATCH = 500;
/**
 * Ready messages are split among free parallel steps, but no step is cut below this many (each step has a fixed cost).
 */
export const SPLIT_MIN = 8;

export type StartOutcome =
  | { kind: 'started'; at: number; result: Promise<SendResult> }
  | { kind: 'stopped'; result: Exclude<StartResult, { action: 'start' }> }
  /** The number's send-time guard said not yet: wait this long and start again. */
  | { kind: 'wait'; ms: number };

/**
 * The send-time guard of the message's number, asked as the step is about to run: 0 admits the message (and
 * counts it as sent now), more means wait that long. Asked here rather than before the message queued for the
 * step, so that the times the guard counts are the times the calls are handed over.
 */
export type Admit = (now: number) => number;

export interface StartGateDeps {
  port: SendStart;
  owner: string;
  clock: Clock;
  cache: BusinessInfoCache;
  db: Kysely<DB>;
  pause?: PauseHook;
  onBatch?: () => void;
  /** How late after its shared slot a call may start (number-slots.ts LATE_SLOT_MS; tests whose clock jumps: more). */
  lateSlotMs?: number;
  /** Told of each message put back for a new slot. */
  onMissedSlot?: () => void;
}

interface Pending {
  item: DispatchItem;
  call: () => Promise<SendResult>;
  admit: Admit;
  resolve: (o: StartOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * The dispatch gate once more, on facts read inside the start step. Caps are not counted again: the claim
 * counted this message as going now, and here, being in flight, it would count against itself.
 */
export function recheck(item: DispatchItem, info: BusinessInfo | null, f: StartFacts, now: number): StartDecision {
  if (!info) return { action: 'cancel', code: 'NOT_FOUND', detail: 'The business no longer exists.' };
  if (!f.person) return { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person no longer exists.' };
  const v = verdictFor(item.kind, {
    row: f.row,
    info,
    person: f.person,
    topicKeys: item.topicKeys,
    states: f.states,
    sends: [],
    now,
  });
  switch (v.action) {
    case 'send':
      return { action: 'start' };
    case 'refuse':
      return { action: 'refuse', code: v.codes.join(','), detail: v.detail };
    case 'cancel':
      return { action: 'cancel', code: v.code, detail: v.detail };
    case 'defer':
      return { action: 'release', notBefore: v.notBefore, code: v.codes.join(','), detail: v.detail };
  }
}

export class StartGate {
  private pending: Pending[] = [];
  private running = 0;
  private scheduled = false;
  /** Messages of this worker that missed their slot once: the next time they start late rather than miss again. */
  private readonly missed = new Set<string>();

  constructor(private readonly d: StartGateDeps) {}

  /** The decision for a message the re-check allowed: start, or back to the queue when its shared slot is past. */
  private onTime(item: DispatchItem, decision: StartDecision): StartDecision {
    if (decision.action !== 'start' || !item.slotFull || item.slotAt === undefined || this.missed.has(item.id))
      return decision;
    const now = this.d.clock.now();
    if (now <= item.slotAt + (this.d.lateSlotMs ?? LATE_SLOT_MS)) return decision;
    if (this.missed.size >= 10_000) this.missed.clear();
    this.missed.add(item.id);
    this.d.onMissedSlot?.();
    return {
      action: 'release',
      notBefore: now,
      code: 'SLOT_MISSED',
      detail: `Its send slot passed ${now - item.slotAt} ms before it could start: queued again for a new slot.`,
    };
  }

  /** Resolves once the message's call was handed to the client (`started`), or it was stopped, or must wait. */
  start(item: DispatchItem, call: () => Promise<SendResult>, admit: Admit = () => 0): Promise<StartOutcome> {
    return new Promise<StartOutcome>((resolve, reject) => {
      this.pending.push({ item, call, admit, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running >= this.d.port.parallel || this.scheduled) return;
    this.scheduled = true;
    // One turn of the event loop: the messages a pacer release (or finished calls) let go in this turn join.
    setImmediate(() => {
      this.scheduled = false;
      const free = this.d.port.parallel - this.running;
      if (free <= 0 || this.pending.length === 0) return;
      // What is ready is shared among the steps that may start now (each at least SPLIT_MIN messages), so the first
      // calls leave after a short step while the others' steps run, instead of every call waiting for one long step.
      const size = Math.min(START_BATCH, Math.max(SPLIT_MIN, Math.ceil(this.pending.length / free)));
      while (this.running < this.d.port.parallel && this.pending.length) void this.flush(size);
    });
  }

  private async flush(size: number): Promise<void> {
    if (this.running >= this.d.port.parallel || this.pending.length === 0) return;
    this.running++;
    const taken = this.pending.splice(0, size);
    const calls = new Map<Pending, Promise<SendResult>>();
    let at = 0;
    let batch: Pending[] = [];
    try {
      if (this.d.pause) await this.d.pause('start');
      const admittedAt = this.d.clock.now();
      for (const p of taken) {
        const ms = p.admit(admittedAt);
        if (ms > 0) p.resolve({ kind: 'wait', ms });
        else batch.push(p);
      }
      if (batch.length === 0) return;
      // The business facts (the worker's short-lived cache) are read first: on SQLite the step cannot await.
      const infos = new Map<string, BusinessInfo | null>();
      for (const p of batch)
        if (!infos.has(p.item.businessId))
          infos.set(p.item.businessId, await this.d.cache.get(this.d.db, p.item.businessId));
      const reqs: StartRequest[] = batch.map((p) => ({
        businessId: p.item.businessId,
        id: p.item.id,
        personId: p.item.personId,
        attempt: p.item.attempt,
      }));
      const of = new Map(reqs.map((r, i) => [r, batch[i]!]));
      at = this.d.clock.now();
      const results = await this.d.port.begin(reqs, {
        owner: this.d.owner,
        now: at,
        decide: (req, facts) => {
          const item = of.get(req)!.item;
          return this.onTime(item, recheck(item, infos.get(req.businessId) ?? null, facts, at));
        },
        go: (req) => {
          const p = of.get(req)!;
          calls.set(p, invoke(p.call));
        },
      });
      this.d.onBatch?.();
      batch.forEach((p, i) => {
        const r = results[i]!;
        const call = calls.get(p);
        if (call) p.resolve({ kind: 'started', at, result: call });
        else p.resolve({ kind: 'stopped', result: r.action === 'start' ? { action: 'gone' } : r });
      });
    } catch (e) {
      // A call already handed over is in flight whatever happened after: it is reported as started (its outcome
      // is written with its start time). The others never started.
      for (const p of batch) {
        const call = calls.get(p);
        if (call) p.resolve({ kind: 'started', at, result: call });
        else p.reject(e);
      }
    } finally {
      this.running--;
      if (this.pending.length) this.schedule();
    }
  }
}

/** Starts one call; its failure is handled by whoever awaits it (sendOne), possibly only after the step commits. */
function invoke(call: () => Promise<SendResult>): Promise<SendResult> {
  let p: Promise<SendResult>;
  try {
    p = call();
  } catch (e) {
    p = Promise.reject(e);
  }
  p.catch(() => undefined);
  return p;
}
