import type { FieldProblem } from '../errors.js';
import { isHolidayCountry } from './holidays.js';
import type { QuietHolidays } from './policy.js';

const MAX_COUNTRIES = 20;

/** Checks `policy.quietHours.holidays`: known country codes, and at least one calendar named. */
export function holidayProblems(h: QuietHolidays): FieldProblem[] {
  const field = 'policy.quietHours.holidays';
  const out: FieldProblem[] = [];
  if (h.recipientCountry !== undefined && typeof h.recipientCountry !== 'boolean') {
    out.push({ field: `${field}.recipientCountry`, message: 'must be true or false' });
  }
  const list = h.countries ?? [];
  if (!Array.isArray(list) || list.length > MAX_COUNTRIES) {
    out.push({ field: `${field}.countries`, message: `must be a list of at most ${MAX_COUNTRIES} country codes` });
    return out;
  }
  list.forEach((c, i) => {
    if (typeof c !== 'string' || !/^[A-Z]{2}$/.test(c) || !isHolidayCountry(c)) {
      const message = 'must be an ISO 3166-1 alpha-2 code with a holiday calendar, such as US or GB';
      out.push({ field: `${field}.countries[${i}]`, message });
    }
  });
  if (!h.recipientCountry && list.length === 0) {
    out.push({ field, message: 'must set recipientCountry: true or list countries (or be left out)' });
  }
  return out;
}
