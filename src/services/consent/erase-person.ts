import { fail } from '../../domain/errors.js';
import { appendEvent } from '../../storage/consent/consent-store.js';
import { cancelOpenMessages } from '../../storage/dispatch/outbox-store.js';
import { lockOrCreatePerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';
import { eraseCaptureData } from '../capture/erase-capture-data.js';
import { writeAudit } from '../../storage/audit/audit-store.js';

/**
 * Erasure (right to be forgotten): the number, WhatsApp ids and every piece of evidence are deleted; a keyed
 * hash of the number stays in `suppressions`, so the person is never messaged again and an import cannot
 * silently re-add them. The event chain stays verifiable because it covers only hashes of the evidence.
 */
export async function erasePerson(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  input: { actor: string; reason?: string },
): Promise<{ personId: string; erasedAt: number; cancelledMessages: number; alreadyErased: boolean }> {
  return ctx.database.transaction(async (trx) => {
    const now = ctx.clock.now();
    const exists = await trx
      .selectFrom('people')
      .select('id')
      .where('business_id', '=', businessId)
      .where('id', '=', personId)
      .executeTakeFirst();
    if (!exists) return fail('NOT_FOUND', 'No such person.', 'personId');
    const person = await lockOrCreatePerson(trx, businessId, { personId }, now);
    if (person.erased_at !== null)
      return { personId, erasedAt: Number(person.erased_at), cancelledMessages: 0, alreadyErased: true };
    if (person.phone_e164) {
      await trx
        .insertInto('suppressions')
        .values({
          business_id: businessId,
          phone_hash: ctx.keyring.phoneHash(person.phone_e164),
          reason: 'erased',
          created_at: now,
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    const cancelled = await cancelOpenMessages(trx, businessId, personId, null, 'CONTACT_ERASED', now);
    const eventIds = trx
      .selectFrom('consent_events')
      .select('id')
      .where('business_id', '=', businessId)
      .where('person_id', '=', personId);
    await trx
      .deleteFrom('consent_evidence')
      .where('business_id', '=', businessId)
      .where('event_id', 'in', eventIds)
      .execute();
    await trx
      .deleteFrom('review_items')
      .where('business_id', '=', businessId)
      .where('person_id', '=', personId)
      .execute();
    // Sign-up requests and invitations of the off-WhatsApp channels hold the number too.
    await eraseCaptureData(trx, businessId, { id: personId, phone: person.phone_e164 });
    await appendEvent(
      trx,
      person,
      {
        type: 'erased',
        scope: 'all',
        topicKeys: [],
        channel: 'system',
        action: 'erasure_request',
        textHash: null,
        occurredAt: now,
        sourceRef: null,
        actor: input.actor,
        evidence: { reason: input.reason ?? 'erasure request' },
      },
      now,
      ctx.keyring.ledger,
    );
    // Only the erasure's own evidence (no personal data) remains.
    await trx
      .updateTable('people')
      .set({
        phone_e164: null,
        wa_id: null,
        bsuid: null,
        country: null,
        language: null,
        timezone: null,
        erased_at: now,
        updated_at: now,
      })
      .where('business_id', '=', businessId)
      .where('id', '=', personId)
      .execute();
    await trx
      .updateTable('messages')
      .set({ payload: '{}' })
      .where('business_id', '=', businessId)
      .where('person_id', '=', personId)
      .execute();
    // Webhook items already processed keep their raw payload (for support and audits), and it holds the number
    // or WhatsApp id: those of this person are blanked. The provider's id stays, so a late retry is still
    // recognised as a duplicate. (Items not yet processed are left to the processor.)
    for (const ident of new Set([person.phone_e164?.slice(1), person.wa_id, person.bsuid])) {
      // No LIKE wildcards, and nothing short enough to match at random.
      if (!ident || !/^[A-Za-z0-9.+-]{6,}$/.test(ident)) continue;
      await trx
        .updateTable('inbox')
        .set({ payload: JSON.stringify({ erased: true, erasedAt: now }) })
        .where('business_id', '=', businessId)
        .where('processed_at', 'is not', null)
        .where('payload', 'like', `%${ident}%`)
        .execute();
      // Receipts not processed yet still settle their message: they lose the number, keep the message id and status.
      // (Receipts arriving later are blanked as they are stored: services/whatsapp/erased-arrivals.ts.)
      const pending = await trx
        .selectFrom('inbox')
        .select(['id', 'payload'])
        .where('business_id', '=', businessId)
        .where('processed_at', 'is', null)
        .where('kind', '=', 'status')
        .where('payload', 'like', `%${ident}%`)
        .execute();
      for (const row of pending) {
        const item = JSON.parse(row.payload) as Record<string, unknown>;
        delete item.recipientId;
        delete item.recipientUserId;
        item.raw = { erased: true };
        await trx
          .updateTable('inbox')
          .set({ payload: JSON.stringify(item) })
          .where('business_id', '=', businessId)
          .where('id', '=', row.id)
          .execute();
      }
    }
    await writeAudit(trx, businessId, now, {
      actor: input.actor,
      action: 'person.erase',
      target: personId,
      detail: { reason: input.reason ?? null, cancelledMessages: cancelled },
    });
    return { personId, erasedAt: now, cancelledMessages: cancelled, alreadyErased: false };
  });
}
