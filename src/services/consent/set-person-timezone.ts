import { fail } from '../../domain/errors.js';
import { isValidTimezone } from '../../domain/gate/policy.js';
import type { ServiceContext } from '../context.js';
import { getPersonOrFail } from './person-history.js';
import { timezoneForPhone } from './person-ref.js';

export interface PersonTimezone {
  personId: string;
  /** The zone quiet hours read the person's local time in; null: the business's default zone. */
  timezone: string | null;
  /** `person`: they chose it; `number`: their number's numbering plan (or its country) gave it; else the default. */
  source: 'person' | 'number' | 'business_default';
  chosenAt: number | null;
}

type ZoneRow = { id: string; timezone: string | null; timezone_chosen_at?: number | null };

export const toPersonTimezone = (p: ZoneRow): PersonTimezone => {
  const chosenAt = p.timezone_chosen_at == null ? null : Number(p.timezone_chosen_at);
  return {
    personId: p.id,
    timezone: p.timezone,
    chosenAt,
    source: chosenAt !== null ? 'person' : p.timezone ? 'number' : 'business_default',
  };
};

export async function getPersonTimezone(ctx: ServiceContext, businessId: string, personId: string) {
  return toPersonTimezone(await getPersonOrFail(ctx.database.db, businessId, personId));
}

/**
 * The person's own choice of time zone (API, preference page): it wins over the zone their number gives. Null
 * gives the choice back: the zone is the number's again (the same rule as at creation, person-ref.ts).
 */
export async function setPersonTimezone(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  timezone: string | null,
  field = 'timezone',
): Promise<PersonTimezone> {
  if (timezone !== null && !isValidTimezone(timezone)) {
    return fail('VALIDATION_FAILED', `"${timezone}" is not an IANA time zone (such as America/New_York).`, field);
  }
  const now = ctx.clock.now();
  return ctx.database.db.transaction().execute(async (trx) => {
    const p = await getPersonOrFail(trx, businessId, personId);
    if (p.erased_at !== null) return fail('PERSON_ERASED', 'The person was erased; there is no zone to set.', 'id');
    const set =
      timezone !== null
        ? { timezone, timezone_chosen_at: now, updated_at: now }
        : {
            timezone: p.phone_e164 ? timezoneForPhone(p.phone_e164, p.country) : null,
            timezone_chosen_at: null,
            updated_at: now,
          };
    await trx.updateTable('people').set(set).where('business_id', '=', businessId).where('id', '=', personId).execute();
    return toPersonTimezone({ id: p.id, ...set });
  });
}

/** What the preference page offers: the person's choice (null: automatic), the zone automatic means, every zone. */
export async function timezoneChoice(ctx: ServiceContext, businessId: string, personId: string) {
  const p = await getPersonOrFail(ctx.database.db, businessId, personId);
  const chosen = p.timezone_chosen_at == null ? null : p.timezone;
  const auto = p.phone_e164 ? timezoneForPhone(p.phone_e164, p.country) : null;
  const all = allZones();
  // A chosen zone the runtime lists under another name is still offered, so saving the page keeps it.
  return { chosen, auto, options: chosen && !all.includes(chosen) ? [chosen, ...all] : all };
}

/**
 * The preference page's zone field: 'auto' gives the choice back to the number, a zone sets it. Unknown values
 * change nothing (the page is not an API: a forged value is ignored, not answered). True when it changed.
 */
export async function applyTimezoneChoice(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  value: unknown,
): Promise<boolean> {
  if (typeof value !== 'string' || value.length > 64) return false;
  const cur = await timezoneChoice(ctx, businessId, personId);
  if (value === 'auto') {
    if (cur.chosen === null) return false;
    await setPersonTimezone(ctx, businessId, personId, null);
    return true;
  }
  if (value === cur.chosen || !isValidTimezone(value)) return false;
  await setPersonTimezone(ctx, businessId, personId, value);
  return true;
}

let zones: readonly string[] | null = null;
const allZones = (): readonly string[] => (zones ??= Object.freeze(Intl.supportedValuesOf('timeZone')));
