import type { Trx } from '../../storage/db.js';

/**
 * The personal data the capture paths keep outside the ledger: pending ownership checks (the typed number and
 * the form's evidence) and invitations (the number they went to, the SMS text). Called by the erasure, inside its
 * transaction. Email suppressions stay: they hold only a keyed hash, and keep the address unsubscribed.
 */
export async function eraseCaptureData(
  trx: Trx,
  businessId: string,
  person: { id: string; phone: string | null },
): Promise<{ requests: number; invitations: number }> {
  let requests = 0;
  if (person.phone) {
    const r = await trx
      .deleteFrom('ownership_requests')
      .where('business_id', '=', businessId)
      .where('phone_e164', '=', person.phone)
      .executeTakeFirst();
    requests = Number(r.numDeletedRows ?? 0);
  }
  let q = trx.deleteFrom('invitations').where('business_id', '=', businessId);
  q = person.phone
    ? q.where((eb) => eb.or([eb('person_id', '=', person.id), eb('phone_e164', '=', person.phone)]))
    : q.where('person_id', '=', person.id);
  const i = await q.executeTakeFirst();
  return { requests, invitations: Number(i.numDeletedRows ?? 0) };
}
