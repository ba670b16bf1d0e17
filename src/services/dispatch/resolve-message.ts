/**
 * An operator's decision about a message whose outcome is unknown (its worker died mid-send, and no status
 * webhook has told us since). `retry` puts it back in the queue only if the dispatch gate still allows it
 * now (the person may have opted out meanwhile), knowing the person may get it twice; `drop` gives it up.
 */
import { fail } from '../../domain/errors.js';
import {
  cancelledAtAfterCall,
  findMessageForUpdate,
  toMessage,
  type Message,
} from '../../storage/dispatch/outbox-store.js';
import { BusinessInfoCache } from './business-info.js';
import { verdictForRow } from './verdict.js';
import type { ServiceContext } from '../context.js';
import { writeAudit } from '../../storage/audit/audit-store.js';

export type ResolveAction = 'retry' | 'drop';
export type ResolveOutcome = 'queued' | 'deferred' | 'refused' | 'cancelled' | 'dropped';

export async function resolveMessage(
  ctx: ServiceContext,
  businessId: string,
  id: string,
  action: ResolveAction,
  actor = 'system',
): Promise<{ outcome: ResolveOutcome; message: Message; reasons: string[] }> {
  return ctx.database.transaction(async (trx) => {
    const now = ctx.clock.now();
    const row = await findMessageForUpdate(trx, businessId, id);
    if (!row) return fail('NOT_FOUND', 'No such message.', 'id');
    if (row.status !== 'unknown') {
      return fail(
        'CONFLICT',
        `Only a message whose outcome is unknown can be resolved; this one is ${row.status}.`,
        'id',
      );
    }
    // A cancellation records when and why (the message's history is told from its times), dated by the one rule
    // every cancellation follows: never before the end of the message's last call.
    const set = (s: { status: string; error_code: string | null; error_detail: string; not_before?: number }) =>
      trx
        .updateTable('messages')
        .set({
          ...s,
          updated_at: now,
          lease_owner: null,
          lease_until: null,
          ...(s.status === 'cancelled' ? { cancelled_at: cancelledAtAfterCall(now), cancel_reason: s.error_code } : {}),
        })
        .where('business_id', '=', businessId)
        .where('id', '=', id)
        .where('status', '=', 'unknown')
        .execute();

    let outcome: ResolveOutcome;
    let reasons: string[] = [];
    if (action === 'drop') {
      outcome = 'dropped';
      await set({
        status: 'cancelled',
        error_code: 'DROPPED',
        error_detail: 'Dropped by an operator after its outcome was unknown; it may or may not have been delivered.',
      });
    } else {
      // A fresh read of the business (no cache): this runs once per operator action.
      const v = await verdictForRow(
        trx,
        new BusinessInfoCache(ctx.database.caches.businesses, ctx.keyring, 1),
        row,
        now,
      );
      const note = 'Re-queued by an operator after its outcome was unknown.';
      if (v.action === 'send') {
        outcome = 'queued';
        await set({ status: 'queued', error_code: null, error_detail: note, not_before: now });
      } else if (v.action === 'defer') {
        outcome = 'deferred';
        reasons = v.codes;
        await set({
          status: 'queued',
          error_code: v.codes.join(','),
          error_detail: `${note} ${v.detail}`,
          not_before: v.notBefore,
        });
      } else if (v.action === 'refuse') {
        outcome = 'refused';
        reasons = v.codes;
        await set({ status: 'refused', error_code: v.codes.join(','), error_detail: v.detail });
      } else {
        outcome = 'cancelled';
        reasons = [v.code];
        await set({ status: 'cancelled', error_code: v.code, error_detail: v.detail });
      }
    }
    const after = await trx
      .selectFrom('messages')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    await writeAudit(trx, businessId, now, {
      actor,
      action: 'message.resolve',
      target: id,
      detail: { action, outcome, reasons },
    });
    ctx.logger.info({ messageId: id, action, outcome }, 'message resolved by an operator');
    return { outcome, message: toMessage(after), reasons };
  });
}
