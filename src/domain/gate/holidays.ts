import Holidays from 'date-holidays';

/**
 * Public holidays per country from `date-holidays` (offline data, ~200 countries, kept up by its maintainers):
 * only type `public` counts (not bank, school or observance days). Each country's calendar is computed once per
 * year and kept as a map from local date (YYYY-MM-DD) to the holiday's English name.
 */
let countries: Set<string> | null = null;
const calendars = new Map<string, Holidays>();
const years = new Map<string, Map<string, string>>();

/** Whether the holiday data knows this ISO 3166-1 alpha-2 country code (upper case). */
export function isHolidayCountry(code: string): boolean {
  countries ??= new Set(Object.keys(new Holidays().getCountries('en')));
  return countries.has(code);
}

function yearOf(country: string, year: number): Map<string, string> {
  const key = `${country}|${year}`;
  let days = years.get(key);
  if (days) return days;
  let cal = calendars.get(country);
  if (!cal) calendars.set(country, (cal = new Holidays(country, { languages: ['en'], types: ['public'] })));
  days = new Map();
  for (const h of cal.getHolidays(year, 'en') || []) {
    if (h.type !== 'public') continue;
    // A holiday of several days is listed once, with its end: every local day it covers counts.
    const n = Math.max(1, Math.round((h.end.getTime() - h.start.getTime()) / 86_400_000));
    const first = Date.UTC(Number(h.date.slice(0, 4)), Number(h.date.slice(5, 7)) - 1, Number(h.date.slice(8, 10)));
    for (let i = 0; i < n; i++) {
      const d = new Date(first + i * 86_400_000).toISOString().slice(0, 10);
      if (!days.has(d)) days.set(d, h.name);
    }
  }
  years.set(key, days);
  return days;
}

/** The public holiday of `country` on the local date `ymd` (YYYY-MM-DD), by name, or null. */
export function holidayOn(country: string, ymd: string): string | null {
  if (!isHolidayCountry(country)) return null;
  return yearOf(country, Number(ymd.slice(0, 4))).get(ymd) ?? null;
}
