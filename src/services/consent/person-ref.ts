import { fail } from '../../domain/errors.js';
import { timezoneOfNumber } from '../../domain/gate/timezones.js';
import { normalisePhone } from '../../lib/phone.js';
import { numberTimezones } from '../../lib/phone-timezones.js';
import type { PersonKey, PersonRow } from '../../storage/consent/people-store.js';

/** How callers name a person: a phone number (any format libphonenumber-js reads), our id, or WhatsApp ids. */
export interface PersonRefInput {
  phone?: string;
  personId?: string;
  waId?: string;
  bsuid?: string;
  defaultCountry?: string;
}

export interface ResolvedRef {
  key: PersonKey;
  country: string | null;
  timezone: string | null;
  /**
   * The person's row, already locked by the caller's transaction and kept current by it (a chat turn locks its
   * sender first, and records one consent event): used as it is instead of being read and locked again.
   */
  held?: PersonRow;
}

/** The zone a new person gets from their number (E.164, already parsed: never parsed again here). */
export const timezoneForPhone = (e164: string, country: string | null | undefined): string | null =>
  timezoneOfNumber(numberTimezones(e164), country).timezone;

export function resolvePersonRef(ref: PersonRefInput, field = 'phone'): ResolvedRef {
  if (ref.phone !== undefined) {
    const r = normalisePhone(ref.phone, ref.defaultCountry);
    if (!r.ok) return fail('INVALID_PHONE', `"${ref.phone}" is not a usable phone number: ${r.reason}.`, field);
    const key: PersonKey = { phone: r.e164 };
    if (ref.waId) key.waId = ref.waId;
    if (ref.bsuid) key.bsuid = ref.bsuid;
    return { key, country: r.country ?? null, timezone: timezoneForPhone(r.e164, r.country) };
  }
  if (ref.personId) return { key: { personId: ref.personId }, country: null, timezone: null };
  if (ref.waId) {
    // A wa_id is the person's number in international digits; keep it as the phone too when it parses.
    const r = normalisePhone(ref.waId);
    const key: PersonKey = r.ok ? { phone: r.e164, waId: ref.waId } : { waId: ref.waId };
    if (ref.bsuid) key.bsuid = ref.bsuid;
    if (!r.ok) return { key, country: null, timezone: null };
    return { key, country: r.country ?? null, timezone: timezoneForPhone(r.e164, r.country) };
  }
  if (ref.bsuid) return { key: { bsuid: ref.bsuid }, country: null, timezone: null };
  return fail('VALIDATION_FAILED', 'Name the person with phone, personId, waId or bsuid.', field);
}
