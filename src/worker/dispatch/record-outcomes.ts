/**
 * Writes what the worker learnt, several messages per transaction (one commit, one fsync on SQLite, for
 * up to a batch of sends). Lock order is person before message, the order an opt-out and a status webhook
 * take them in, and people are visited in id order, so these transactions cannot deadlock with those.
 */
import { AppError } from '../../domain/errors.js';
import type { ServiceContext } from '../../services/context.js';
import { recordConfirmationOutcomeTx } from '../../services/consent/record-confirmation-outcome.js';
import { recordOptOutTx } from '../../services/consent/record-opt-out.js';
import {
  releaseLeases,
  writeFailed,
  writeRetry,
  writeSent,
  writeSentBatch,
} from '../../storage/dispatch/dispatch-store.js';
import type { Trx } from '../../storage/db.js';
import { lockOrCreatePerson } from '../../storage/consent/people-store.js';
import type { OutcomeRecord, WorkerMetrics } from './types.js';

type Tally = Pick<WorkerMetrics, 'sent' | 'failed' | 'retried' | 'released' | 'sentAfterCancel'>;
const zero = (): Tally => ({ sent: 0, failed: 0, retried: 0, released: 0, sentAfterCancel: 0 });

export const ACTOR = 'worker:dispatch';

/**
 * Writes a batch in one transaction; if that fails (one bad record), each record on its own, so one poison
 * record cannot hold the others back. A record that still fails stays `sending` until its lease runs out and
 * the reaper marks it unknown: nothing is ever resent on a guess.
 */
export async function writeOutcomes(ctx: ServiceContext, workerId: string, records: OutcomeRecord[]): Promise<Tally> {
  try {
    return await ctx.database.transaction((trx) => applyAll(ctx, trx, workerId, records));
  } catch (e) {
    if (records.length === 1) {
      ctx.logger.error({ err: e, messageId: records[0]!.item.id }, 'dispatch: could not record a send outcome');
      return zero();
    }
    const total = zero();
    for (const r of records) add(total, await writeOutcomes(ctx, workerId, [r]));
    return total;
  }
}

async function applyAll(ctx: ServiceContext, trx: Trx, workerId: string, all: OutcomeRecord[]): Promise<Tally> {
  const t = zero();
  const now = ctx.clock.now();
  // The bulk of a busy worker's outcomes: notifications and replies Meta accepted, written in one statement
  // per business. They touch no ledger, so they need no person lock.
  const plain = all.filter((r) => r.outcome.kind === 'sent' && r.item.kind !== 'confirmation' && r.call);
  const written = new Set<string>();
  for (const [businessId, group] of groupBy(plain, (r) => r.item.businessId)) {
    const ids = await writeSentBatch(
      trx,
      businessId,
      group.map((r) => {
        const at = (r.outcome as { at: number }).at;
        return {
          id: r.item.id,
          attempt: r.item.attempt,
          providerMessageId: (r.outcome as { providerMessageId: string }).providerMessageId,
          at,
          call: r.call!,
        };
      }),
      now,
    );
    for (const id of ids) written.add(id);
  }
  t.sent += written.size;
  const records = all.filter((r) => !written.has(r.item.id));
  const sorted = [...records].sort(
    (a, b) => cmp(a.item.businessId, b.item.businessId) || cmp(a.item.personId, b.item.personId),
  );
  const needsPerson = (r: OutcomeRecord) =>
    (r.item.kind === 'confirmation' && (r.outcome.kind === 'sent' || r.outcome.kind === 'failed')) ||
    (r.outcome.kind === 'failed' && r.outcome.effect !== undefined);
  // The person's row is locked before any of their messages is touched, if any record of theirs writes to the ledger.
  const lockFirst = new Set(sorted.filter(needsPerson).map((r) => `${r.item.businessId}|${r.item.personId}`));
  let current = '';
  for (const { item, outcome, call } of sorted) {
    const key = { businessId: item.businessId, id: item.id };
    const personKey = `${item.businessId}|${item.personId}`;
    if (personKey !== current) {
      current = personKey;
      if (lockFirst.has(personKey)) await lockOrCreatePerson(trx, item.businessId, { personId: item.personId }, now);
    }
    switch (outcome.kind) {
      case 'sent': {
        const w = await writeSent(trx, key, item.attempt, {
          providerMessageId: outcome.providerMessageId,
          at: outcome.at,
          call,
        });
        if (!w.written) break;
        t.sent++;
        if (w.raced) t.sentAfterCancel++;
        if (item.kind === 'confirmation')
          await confirmation(ctx, trx, item, 'sent', outcome.providerMessageId, outcome.at, {}, now);
        break;
      }
      case 'retry': {
        const payload =
          outcome.engagementTries !== undefined
            ? JSON.stringify({ ...item.payload, engagementTries: outcome.engagementTries })
            : undefined;
        if (await writeRetry(trx, key, item.attempt, { ...outcome, now, payload, call })) t.retried++;
        break;
      }
      case 'failed': {
        if (outcome.effect === 'unreachable') {
          // Not on WhatsApp (or cannot receive): the gate refuses as UNREACHABLE. Not an opt-out.
          await trx
            .updateTable('people')
            .set({ unreachable_at: now, updated_at: now })
            .where('business_id', '=', item.businessId)
            .where('id', '=', item.personId)
            .where('unreachable_at', 'is', null)
            .execute();
        } else if (outcome.effect === 'marketing_opt_out') {
          await marketingOptOut(ctx, trx, item, outcome.detail, now);
        }
        if (
          !(await writeFailed(trx, key, item.attempt, {
            errorCode: outcome.errorCode,
            detail: outcome.detail,
            now,
            call,
          }))
        )
          break;
        t.failed++;
        if (item.kind === 'confirmation') {
          await confirmation(
            ctx,
            trx,
            item,
            'failed',
            null,
            now,
            { errorCode: outcome.errorCode, detail: outcome.detail },
            now,
          );
        }
        break;
      }
      case 'release':
        t.released += await releaseLeases(trx, [{ ...key, notBefore: outcome.notBefore }], workerId, now);
        break;
    }
  }
  return t;
}

async function confirmation(
  ctx: ServiceContext,
  trx: Trx,
  item: OutcomeRecord['item'],
  outcome: 'sent' | 'failed',
  wamid: string | null,
  at: number,
  evidence: Record<string, unknown>,
  now: number,
) {
  await recordConfirmationOutcomeTx(
    ctx,
    trx,
    {
      business_id: item.businessId,
      id: item.id,
      person_id: item.personId,
      related_event_id: item.relatedEventId,
      payload: item.rawPayload,
      provider_message_id: wamid,
    },
    { outcome, occurredAt: at, evidence: { ...evidence, via: 'send_response' }, actor: ACTOR },
    now,
  );
}

/** 131050: the person stopped marketing messages inside WhatsApp; recorded as their opt-out of marketing topics. */
async function marketingOptOut(
  ctx: ServiceContext,
  trx: Trx,
  item: OutcomeRecord['item'],
  detail: string,
  now: number,
) {
  try {
    await recordOptOutTx(
      ctx,
      trx,
      item.businessId,
      {
        person: { personId: item.personId },
        scope: 'marketing',
        channel: 'meta',
        action: 'provider_report',
        evidence: { messageId: item.id, errorCode: 131050, detail },
        sourceRef: `meta-131050:${item.id}`,
        actor: ACTOR,
      },
      { key: { personId: item.personId }, country: null, timezone: null },
      now,
    );
  } catch (e) {
    // An erased person is already suppressed; anything else is a real failure.
    if (!(e instanceof AppError)) throw e;
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const l = m.get(k);
    if (l) l.push(it);
    else m.set(k, [it]);
  }
  return m;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
function add(a: Tally, b: Tally) {
  a.sent += b.sent;
  a.failed += b.failed;
  a.retried += b.retried;
  a.released += b.released;
  a.sentAfterCancel += b.sentAfterCancel;
}
