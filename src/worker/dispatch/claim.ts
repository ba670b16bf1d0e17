/**
 * One claim round, in ONE transaction: select due queued messages (locked, skipping rows other workers or
 * an opt-out hold), check the gate again for each with facts read in this same transaction, settle the ones
 * that may not go (refused, cancelled, deferred), and lease the rest to this worker (`sending`).
 *
 * Why it is safe against an opt-out: the opt-out cancels open messages in its own transaction. If it
 * committed before this claim began, the rows are no longer `queued` (or the state read here is opted_out);
 * if it is still running, its UPDATE holds the rows and SKIP LOCKED passes them by, or it waits for this
 * claim and then cancels the `sending` rows, which the outcome writer reports as sent-despite-cancel.
 * Either way no message is claimed after the opt-out committed.
 */
import { parseJson } from '../../storage/json.js';
import type { Database, Trx } from '../../storage/db.js';
import type { MessageKind } from '../../storage/dispatch/outbox-store.js';
import { markSending, selectDue, settleAtClaim, type DispatchPerson, type MessageRow } from '../../storage/dispatch/dispatch-store.js';
import { loadMessageFacts } from '../../storage/dispatch/gate-facts.js';
import type { CapRow } from '../../domain/gate/decide.js';
import type { BusinessInfo, BusinessInfoCache } from './business-info.js';
import { windowOpen, type DispatchVerdict } from './gate.js';
import { topicKeysOf, verdictFor } from './verdict.js';
import type { Pacer } from './pacer.js';
import type { DispatchItem } from './types.js';

export interface ClaimDeps {
  database: Database;
  cache: BusinessInfoCache;
  pacer: Pacer;
  workerId: string;
  leaseMs: number;
  /** Claim only what the pacer can send within this time (no leasing a thousand rows for an 80/s number). */
  horizonMs: number;
}

export interface ClaimResult {
  items: DispatchItem[];
  refused: number;
  deferred: number;
  cancelled: number;
}

/** The pacer's key of a recipient: the pair limit is per business number and user. */
export const recipientKey = (businessId: string, p: { phone: string | null; waId: string | null; bsuid: string | null }) =>
  `${businessId}|${p.phone ?? p.waId ?? p.bsuid ?? ''}`;

export async function claimBatch(d: ClaimDeps, limit: number, now: number): Promise<ClaimResult> {
  return d.database.transaction((trx) => claimInTx(d, trx, limit, now));
}

async function claimInTx(d: ClaimDeps, trx: Trx, limit: number, now: number): Promise<ClaimResult> {
  const res: ClaimResult = { items: [], refused: 0, deferred: 0, cancelled: 0 };
  // Numbers with no room in the horizon are left out of the query, so their backlog cannot crowd out other
  // businesses' due messages.
  const full: string[] = [];
  for (const b of d.cache.known()) {
    if (b.account && d.pacer.available(b.account.phoneNumberId, b.account.ratePerSecond, now, d.horizonMs) === 0) full.push(b.id);
  }
  const rows = await selectDue(trx, { now, limit, excludeBusinesses: full });
  if (rows.length === 0) return res;

  const groups = new Map<string, MessageRow[]>();
  for (const r of rows) {
    const g = groups.get(r.business_id);
    if (g) g.push(r);
    else groups.set(r.business_id, [r]);
  }
  const toLease: { row: MessageRow; info: BusinessInfo; person: DispatchPerson; payload: Record<string, unknown>; topicKeys: string[] }[] = [];
  for (const [businessId, group] of groups) {
    const info = await d.cache.get(trx, businessId);
    if (!info) {
      for (const r of group) await settleAtClaim(trx, key(r), { status: 'failed', errorCode: 'NOT_FOUND', detail: 'The business no longer exists.', now });
      continue;
    }
    const personIds = [...new Set(group.map((r) => r.person_id))];
    const notifiedIds = [...new Set(group.filter((r) => r.kind === 'notification').map((r) => r.person_id))];
    // The gate's one fact loader (the same facts and counting as at enqueue), in this transaction.
    const { people, states, counted } = await loadMessageFacts(trx, info, personIds, notifiedIds, now);
    // What this round does to a counted row is seen by the rows after it: a leased one is in flight, a
    // refused or cancelled one no longer counts, a deferred one stays queued.
    const settle = (r: MessageRow, status: string) => {
      const c = counted.get(r.person_id)?.find((x) => x.id === r.id);
      if (c) c.status = status;
    };
    let budget = info.account ? d.pacer.available(info.account.phoneNumberId, info.account.ratePerSecond, now, d.horizonMs) : Infinity;

    for (const row of group) {
      const person = people.get(row.person_id);
      const payload = parseJson<Record<string, unknown>>(row.payload, {});
      const topicKeys = topicKeysOf(payload);
      const sends: CapRow[] = person ? (counted.get(person.id) ?? []) : [];
      const verdict: DispatchVerdict = !person
        ? { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person no longer exists.' }
        : verdictFor(row.kind as MessageKind, { row, info, person, topicKeys, states: states.get(person.id), sends, now });

      if (verdict.action === 'refuse') {
        res.refused++;
        settle(row, 'refused');
        await settleAtClaim(trx, key(row), { status: 'refused', errorCode: verdict.codes.join(','), detail: verdict.detail, now });
      } else if (verdict.action === 'cancel') {
        res.cancelled++;
        settle(row, 'cancelled');
        await settleAtClaim(trx, key(row), { status: 'cancelled', errorCode: verdict.code, detail: verdict.detail, now });
      } else if (verdict.action === 'defer') {
        res.deferred++;
        await settleAtClaim(trx, key(row), { status: 'queued', errorCode: verdict.codes.join(','), detail: verdict.detail, notBefore: verdict.notBefore, now });
      } else if (person) {
        if (budget <= 0) continue; // the number is full for this horizon: the row stays queued for the next round
        const rk = recipientKey(businessId, person);
        const readyAt = d.pacer.recipientReadyAt(rk);
        if (readyAt > now) {
          // A pair-rate penalty (131056) or the recipient spacing: only this recipient waits.
          res.deferred++;
          await settleAtClaim(trx, key(row), { status: 'queued', errorCode: 'RECIPIENT_PACED', detail: 'Waiting for the per-recipient spacing.', notBefore: readyAt, now });
          continue;
        }
        budget--;
        d.pacer.noteRecipientClaimed(rk, now);
        // Later rows of this round see this one in flight (frequency caps, spacing).
        if (row.kind === 'notification') settle(row, 'sending');
        toLease.push({ row, info, person, payload, topicKeys });
      }
    }
  }

  const leased = await markSending(trx, toLease.map((t) => key(t.row)), { owner: d.workerId, leaseUntil: now + d.leaseMs, now });
  const attempts = new Map(leased.map((l) => [l.id, l.attempts]));
  for (const t of toLease) {
    const attempt = attempts.get(t.row.id);
    if (attempt === undefined) continue; // another process took it between our read and our write (SQLite, several processes)
    res.items.push(toItem(t, attempt, now));
  }
  return res;
}

function toItem(
  t: { row: MessageRow; info: BusinessInfo; person: DispatchPerson; payload: Record<string, unknown>; topicKeys: string[] },
  attempt: number,
  now: number,
): DispatchItem {
  const { row, info, person } = t;
  return {
    id: row.id, businessId: row.business_id, personId: row.person_id, kind: row.kind as MessageKind,
    payload: t.payload, rawPayload: row.payload, relatedEventId: row.related_event_id, attempt,
    recipient: { phone: person.phone, waId: person.waId, bsuid: person.bsuid },
    windowOpen: windowOpen(person.lastInboundAt, now),
    business: { displayName: info.displayName, confirmationTemplate: info.policy.confirmationTemplate ?? null },
    topicKeys: t.topicKeys, topicNames: t.topicKeys.map((k) => info.topicsByKey.get(k)?.name ?? k),
    account: info.account,
  };
}

const key = (r: MessageRow) => ({ businessId: r.business_id, id: r.id });
