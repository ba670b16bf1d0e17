import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

type Q = Kysely<DB>;

/** How a business's off-WhatsApp capture paths behave. */
export interface CaptureSettings {
  /**
   * A hosted-page opt-in waits until the person sends a code from the typed number on WhatsApp (default).
   * Off: the form submission is recorded at once (for businesses that verify numbers themselves).
   */
  ownershipCheck: boolean;
  /** Country preselected on the phone field when the browser's language names none (ISO 3166 alpha-2). */
  defaultCountry: string | null;
  /** The number people send the ownership code to; default: the business's WhatsApp channel display number. */
  whatsappNumber: string | null;
}

export const DEFAULT_CAPTURE_SETTINGS: Readonly<CaptureSettings> = Object.freeze({
  ownershipCheck: true,
  defaultCountry: null,
  whatsappNumber: null,
});

export async function getCaptureSettings(q: Q, businessId: string): Promise<CaptureSettings> {
  const r = await q.selectFrom('capture_settings').selectAll().where('business_id', '=', businessId).executeTakeFirst();
  if (!r) return { ...DEFAULT_CAPTURE_SETTINGS };
  return {
    ownershipCheck: Number(r.ownership_check) === 1,
    defaultCountry: r.default_country,
    whatsappNumber: r.whatsapp_number,
  };
}

export async function putCaptureSettings(q: Q, businessId: string, s: CaptureSettings, now: number): Promise<void> {
  const row = {
    ownership_check: s.ownershipCheck ? 1 : 0,
    default_country: s.defaultCountry,
    whatsapp_number: s.whatsappNumber,
    updated_at: now,
  };
  await q
    .insertInto('capture_settings')
    .values({ business_id: businessId, ...row })
    .onConflict((oc) => oc.column('business_id').doUpdateSet(row))
    .execute();
}
