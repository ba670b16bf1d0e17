/**
 * One claim round: the businesses with due work, then per business ONE transaction: take the number's shared
 * pacing row (locked: the claims of one number are serialised across workers), select its due queued messages
 * (locked, skipping rows an opt-out holds), check the gate again for each with facts read in this same
 * transaction, settle the ones that may not go (refused, cancelled, deferred), lease the rest to this worker
 * (`sending`) and give each the next slot of the number's schedule.
 *
 * Why caps hold with any number of workers: a claim reads the counted notifications (sent, in flight, queued
 * ahead) after it got the number's lock, so every message leased by an earlier claim, whichever worker's, is seen
 * in flight, and the counting rule (domain/gate/decide.ts) is the same as at enqueue.
 *
 * Why it is safe against an opt-out: the opt-out cancels open messages in its own transaction. If it
 * committed before this claim began, the rows are no longer `queued` (or the state read here is opted_out);
 * if it is still running, its UPDATE holds the rows and SKIP LOCKED passes them by, or it waits for this
 * claim and then cancels the `sending` rows, which the outcome writer reports as sent-despite-cancel.
 * Either way no message is claimed after the opt-out committed.
 */
import type { Clock } from '../../lib/clock.js';
import { parseJson } from '../../storage/json.js';
import type { Database, Trx } from '../../storage/db.js';
import { kindAndPayload } from '../../storage/dispatch/outbox-store.js';
import {
  dueBusinesses,
  markSending,
  selectDue,
  settleAtClaim,
  type DispatchPerson,
  type MessageRow,
} from '../../storage/dispatch/dispatch-store.js';
import { recipientPenalties, saveNumber, tryLockNumber } from '../../storage/dispatch/number-pacing-store.js';
import { available, current, freshSlots, take } from './number-slots.js';
import { loadMessageFacts } from '../../storage/dispatch/gate-facts.js';
import type { CapRow } from '../../domain/gate/decide.js';
import type { BusinessInfo, BusinessInfoCache } from '../../services/dispatch/business-info.js';
import { windowOpen, type DispatchVerdict } from '../../domain/gate/dispatch-verdict.js';
import { verdictFor } from '../../services/dispatch/verdict.js';
import { topicKeysOf, type KindAndPayload } from '../../domain/messages.js';
import type { Pacer } from './pacer.js';
import { render } from './render.js';
import type { DispatchItem } from './types.js';

export interface ClaimDeps {
  database: Database;
  cache: BusinessInfoCache;
  pacer: Pacer;
  workerId: string;
  leaseMs: number;
  /** Claim only what the pacer can send within this time (no leasing a thousand rows for an 80/s number). */
  horizonMs: number;
  /** Where the last round started in the list of due businesses: each round starts one further on (fairness). */
  cursor?: number;
  /** Read again once the number's row is locked (absent: the round's `now` is used throughout). */
  clock?: Clock;
}

export interface ClaimResult {
  items: DispatchItem[];
  refused: number;
  deferred: number;
  cancelled: number;
  /** Businesses passed by because another worker was claiming for their number at that moment (try again soon). */
  busy: number;
}

/** The pacer's key of a recipient: the pair limit is per business number and user. */
export const recipientKey = (
  businessId: string,
  p: { phone: string | null; waId: string | null; bsuid: string | null },
) => `${businessId}|${p.phone ?? p.waId ?? p.bsuid ?? ''}`;

/**
 * One claim round: the businesses with due work, then one short transaction per business (every statement
 * filters on its business_id) until `limit` messages are leased.
 */
export async function claimBatch(d: ClaimDeps, limit: number, now: number): Promise<ClaimResult> {
  const res: ClaimResult = { items: [], refused: 0, deferred: 0, cancelled: 0, busy: 0 };
  const due = await dueBusinesses(d.database.db, now);
  if (due.length === 0) return res;
  const from = (d.cursor ?? 0) % due.length;
  d.cursor = from + 1;
  for (let i = 0; i < due.length && res.items.length < limit; i++) {
    const businessId = due[(from + i) % due.length]!;
    const r = await d.database.transaction((trx) => claimInTx(d, trx, businessId, limit - res.items.length, now));
    res.items.push(...r.items);
    res.refused += r.refused;
    res.deferred += r.deferred;
    res.cancelled += r.cancelled;
    res.busy += r.busy;
  }
  return res;
}

async function claimInTx(d: ClaimDeps, trx: Trx, businessId: string, limit: number, now: number): Promise<ClaimResult> {
  const res: ClaimResult = { items: [], refused: 0, deferred: 0, cancelled: 0, busy: 0 };
  const info = await d.cache.get(trx, businessId);
  if (!info) {
    for (const r of await selectDue(trx, { businessId, now, limit })) {
      await settleAtClaim(trx, key(r), {
        status: 'failed',
        errorCode: 'NOT_FOUND',
        detail: 'The business no longer exists.',
        now,
      });
    }
    return res;
  }
  // The number's shared pacing row, locked first: the claims of this number (this business) are serialised across
  // workers, so this claim sees the slots the others took and their messages in flight (caps are counted exactly).
  // If another worker's claim holds it, this round passes the business by rather than wait (tryLockNumber).
  const number = info.account?.phoneNumberId ?? '';
  const rate = info.account?.ratePerSecond ?? 1;
  const locked = await tryLockNumber(trx, businessId, number, freshSlots(rate, now), now);
  if (!locked) {
    res.busy++;
    return res;
  }
  // The time is read again now that the row is ours: the wait for another worker's claim must not leave this
  // claim's slots in the past (sent at once, together with the other worker's), nor its horizon behind.
  now = Math.max(now, d.clock?.now() ?? now);
  const slots = current(locked, rate, now);
  // Numbers with no room in the horizon lease nothing: a thousand rows are not leased for an 80/s number.
  const room = info.account ? available(slots, now, d.horizonMs) : Infinity;
  let budget = room;
  if (budget === 0) return res;
  const rows = await selectDue(trx, {
    businessId,
    now,
    limit: Number.isFinite(budget) ? Math.min(limit, 2 * budget + 32) : limit,
  });
  if (rows.length === 0) return res;

  const personIds = [...new Set(rows.map((r) => r.person_id))];
  const notifiedIds = [...new Set(rows.filter((r) => r.kind === 'notification').map((r) => r.person_id))];
  // The gate's one fact loader (the same facts and counting as at enqueue), in this transaction.
  const { people, states, counted } = await loadMessageFacts(trx, info, personIds, notifiedIds, now);
  // 131056 penalties, whichever worker was told.
  const penalties = await recipientPenalties(trx, businessId, personIds);
  // What this round does to a counted row is seen by the rows after it: a leased one is in flight, a
  // refused or cancelled one no longer counts, a deferred one stays queued.
  const settle = (r: MessageRow, status: string) => {
    const c = counted.get(r.person_id)?.find((x) => x.id === r.id);
    if (c) c.status = status;
  };
  const toLease: Leasing[] = [];
  for (const row of rows) {
    const person = people.get(row.person_id);
    const message = kindAndPayload(row);
    const topicKeys = topicKeysOf(message.payload);
    const sends: CapRow[] = person ? (counted.get(person.id) ?? []) : [];
    const verdict: DispatchVerdict = !person
      ? { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person no longer exists.' }
      : verdictFor(message.kind, {
          row,
          info,
          person,
          topicKeys,
          states: states.get(person.id),
          sends,
          now,
        });

    if (verdict.action === 'refuse') {
      res.refused++;
      settle(row, 'refused');
      await settleAtClaim(trx, key(row), {
        status: 'refused',
        errorCode: verdict.codes.join(','),
        detail: verdict.detail,
        now,
      });
    } else if (verdict.action === 'cancel') {
      res.cancelled++;
      settle(row, 'cancelled');
      await settleAtClaim(trx, key(row), { status: 'cancelled', errorCode: verdict.code, detail: verdict.detail, now });
    } else if (verdict.action === 'defer') {
      res.deferred++;
      await settleAtClaim(trx, key(row), {
        status: 'queued',
        errorCode: verdict.codes.join(','),
        detail: verdict.detail,
        notBefore: verdict.notBefore,
        now,
      });
    } else if (person) {
      if (budget <= 0) continue; // the number is full for this horizon: the row stays queued for the next round
      const rk = recipientKey(businessId, person);
      const readyAt = Math.max(d.pacer.recipientReadyAt(rk), penalties.get(person.id) ?? 0);
      if (readyAt > now) {
        // A pair-rate penalty (131056) or the recipient spacing: only this recipient waits.
        res.deferred++;
        await settleAtClaim(trx, key(row), {
          status: 'queued',
          errorCode: 'RECIPIENT_PACED',
          detail: 'Waiting for the per-recipient spacing.',
          notBefore: readyAt,
          now,
        });
        continue;
      }
      budget--;
      d.pacer.noteRecipientClaimed(rk, now);
      // Later rows of this round see this one in flight (frequency caps, spacing).
      if (row.kind === 'notification') settle(row, 'sending');
      toLease.push({ row, info, person, message, topicKeys, penalized: penalties.has(person.id) });
    }
  }

  const leased = await markSending(
    trx,
    toLease.map((t) => key(t.row)),
    { owner: d.workerId, leaseUntil: now + d.leaseMs, now },
  );
  const attempts = new Map(leased.map((l) => [l.id, l.attempts]));
  // Another process may have taken one (SQLite, several processes).
  const mine = toLease.filter((t) => attempts.has(t.row.id));
  const items = mine.map((t) => toItem(t, attempts.get(t.row.id)!, now));
  // The slots of what will call, taken from the number's shared schedule (evenly spaced across all workers); a
  // message that cannot be rendered fails without a call and takes none.
  const calling = info.account ? items.filter((it) => render(it).ok) : [];
  // The slots start from the time read at the end of the claim (the row is still locked): a slow claim (a cold or busy
  // process) would otherwise hand out slots already past, and its messages would leave at once, bunched.
  const taken = take(slots, calling.length, Math.max(now, d.clock?.now() ?? now));
  if (calling.length) await saveNumber(trx, businessId, number, taken.next, now);
  // Every slot the horizon allowed was taken: the number is sending at its rate, and a late call would bunch.
  const full = calling.length >= room;
  calling.forEach((it, i) => {
    it.slotAt = taken.slots[i];
    if (full) it.slotFull = true;
  });
  res.items.push(...items);
  return res;
}

interface Leasing {
  row: MessageRow;
  info: BusinessInfo;
  person: DispatchPerson;
  message: KindAndPayload;
  topicKeys: string[];
  penalized: boolean;
}

function toItem(t: Leasing, attempt: number, now: number): DispatchItem {
  const { row, info, person } = t;
  return {
    id: row.id,
    businessId: row.business_id,
    personId: row.person_id,
    ...t.message,
    rawPayload: row.payload,
    relatedEventId: row.related_event_id,
    attempt,
    recipient: { phone: person.phone, waId: person.waId, bsuid: person.bsuid },
    windowOpen: windowOpen(person.lastInboundAt, now),
    business: { displayName: info.displayName, confirmationTemplate: info.policy.confirmationTemplate ?? null },
    topicKeys: t.topicKeys,
    topicNames: t.topicKeys.map((k) => info.topicsByKey.get(k)?.name ?? k),
    account: info.account,
    ...(t.penalized ? { penalized: true } : {}),
  };
}

const key = (r: MessageRow) => ({ businessId: r.business_id, id: r.id });
