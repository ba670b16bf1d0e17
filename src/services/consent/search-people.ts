import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.js';
import { normalisePhone } from '../../lib/phone.js';
import { getCaptureSettings } from '../../storage/capture/capture-settings-store.js';

/**
 * What a search string can name, read every way it can be read: our person id, a phone number in any format
 * (a national one with the business's default country, from its capture settings, or the one given), the
 * WhatsApp id (international digits) and the business-scoped user id. Each reading is an exact match on an
 * indexed column; a string that is no phone number simply matches no phone.
 */
export interface PeopleSearch {
  personId: string;
  phones: string[];
  waIds: string[];
  bsuid: string;
}

export async function readPeopleSearch(
  q: Kysely<DB>,
  businessId: string,
  text: string,
  country?: string,
): Promise<PeopleSearch> {
  const s = text.trim();
  const defaultCountry = country ?? (await getCaptureSettings(q, businessId)).defaultCountry ?? undefined;
  const phones = new Set<string>();
  const asGiven = normalisePhone(s, defaultCountry);
  if (asGiven.ok) phones.add(asGiven.e164);
  const international = normalisePhone(s);
  if (international.ok) phones.add(international.e164);
  const digits = s.replace(/[\s().+-]/g, '');
  const waIds = new Set<string>(/^\d{6,20}$/.test(digits) ? [digits] : []);
  for (const p of phones) waIds.add(p.slice(1));
  return { personId: s, phones: [...phones], waIds: [...waIds], bsuid: s };
}
