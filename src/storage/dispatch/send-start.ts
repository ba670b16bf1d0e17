/**
 * The port that starts provider calls: for a batch of claimed messages the pacer has released, the last
 * consent re-check and the "call started" mark in ONE atomic step, and the calls handed to the client before
 * any opt-out can commit after that step. This is what makes an acknowledged opt-out stop every later send
 * (docs/architecture.md, "Why an acknowledged opt-out stops every later send"):
 *
 * - PostgreSQL: one short transaction per batch locks the people rows FOR SHARE (an opt-out takes them FOR
 *   UPDATE), then, in one statement of its own (a fresh snapshot), marks this try of each message started and
 *   reads the message, person and consent state; the ones the re-check stops are put back and settled, the
 *   others' calls handed to the client, and only then it commits. An opt-out either committed before the lock
 *   was granted (its cancellation or its state is seen: no call), or waits for this commit and finds the calls
 *   started. The opening (BEGIN to the mark) is one round trip.
 * - SQLite (one process, one connection): the same reads and writes run synchronously on the raw handle while
 *   Kysely's connection is held, and the calls are handed over in the same tick: nothing else can run between
 *   the check and the call, so no opt-out can commit, let alone be acknowledged, in between.
 *
 * The rule itself (what may still go) is the caller's `decide`, the dispatch gate's verdict; this port only
 * reads the facts, applies the decisions and keeps the step atomic. The worker never sees the dialect.
 */
import type { Database } from '../db.js';
import type { ConsentStates, DispatchPerson, MessageRow } from './dispatch-store.js';
import { postgresSendStart } from '../postgres/send-start.js';
import { sqliteSendStart } from '../sqlite/send-start.js';

/** One message to start: this try of it (the claim's attempt), leased to the port's caller. */
export interface StartRequest {
  businessId: string;
  id: string;
  personId: string;
  attempt: number;
}

/** What the re-check sees, read inside the atomic step (after the person's lock on PostgreSQL). */
export interface StartFacts {
  row: MessageRow;
  person: DispatchPerson | undefined;
  states: ConsentStates | undefined;
}

/** The caller's decision for a message still leased to it. */
export type StartDecision =
  | { action: 'start' }
  /** Settled for good, no call: cancelled (with cancelled_at) or refused. */
  | { action: 'cancel' | 'refuse'; code: string; detail: string }
  /** Back to the queue until `notBefore`, the try not counted (quiet hours began while it waited). */
  | { action: 'release'; notBefore: number; code: string; detail: string };

/** Per request: the decision applied, or `gone` when the row is no longer this try's lease (cancelled, reaped). */
export type StartResult = StartDecision | { action: 'gone' };

export interface SendStartOptions {
  /** The lease owner (worker id): only rows still leased to it, at the request's attempt, are started. */
  owner: string;
  now: number;
  /** The re-check, synchronous and pure (on SQLite it runs inside the synchronous step). */
  decide(req: StartRequest, facts: StartFacts): StartDecision;
  /** Hands one started message's call to the provider client. Synchronous: it must not await, and not throw. */
  go(req: StartRequest): void;
}

export interface SendStart {
  /** Results in the order of `batch`. `go` has been called for every `start` result when this resolves. */
  begin(batch: StartRequest[], o: SendStartOptions): Promise<StartResult[]>;
  /** Steps that may run at once (each on its own connection): 1 on SQLite, a few on PostgreSQL. */
  readonly parallel: number;
}

export function sendStartFor(database: Database): SendStart {
  return database.sqlite ? sqliteSendStart(database) : postgresSendStart(database);
}

/**
 * The part both implementations share: which requests are still this try's lease, and the caller's decision
 * for each of those. `rows`, `people` and `states` were read inside the atomic step.
 */
export function planStart(
  batch: StartRequest[],
  rows: Map<string, MessageRow>,
  people: Map<string, DispatchPerson>,
  states: Map<string, ConsentStates>,
  o: Pick<SendStartOptions, 'owner' | 'decide'>,
): StartResult[] {
  return batch.map((req) => {
    const row = rows.get(rowKey(req));
    if (
      !row ||
      row.status !== 'sending' ||
      row.lease_owner !== o.owner ||
      Number(row.attempts) !== req.attempt ||
      (row.call_started_at ?? null) !== null
    ) {
      return { action: 'gone' };
    }
    return o.decide(req, {
      row,
      person: people.get(`${req.businessId}|${req.personId}`),
      states: states.get(`${req.businessId}|${req.personId}`),
    });
  });
}

export const rowKey = (k: { businessId: string; id: string }) => `${k.businessId}|${k.id}`;

/** Requests grouped per business, businesses in a fixed order (locks are taken in that order). */
export function byBusinessSorted(batch: StartRequest[]): [string, StartRequest[]][] {
  const m = new Map<string, StartRequest[]>();
  for (const r of batch) {
    const l = m.get(r.businessId);
    if (l) l.push(r);
    else m.set(r.businessId, [r]);
  }
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
