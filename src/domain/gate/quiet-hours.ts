import type { QuietHours } from './policy.js';
import { holidayOn } from './holidays.js';

/**
 * Quiet hours in the recipient's local time: the nightly window of the policy, and, when the policy names
 * holiday calendars, the whole local day of a public holiday. A pure function of the time, the policy and the
 * person's zone and country; the gate (decide.ts) turns a result into a QUIET_HOURS deferral.
 */
export interface QuietResult {
  /** Epoch ms when the message may leave: the end of the window, of the holiday, or of both in a row. */
  until: number;
  /** The zone the local time was read in. */
  timezone: string;
  /** Whose zone it is: the person's (chosen or from their number) or the business's default. */
  zoneOf: 'person' | 'business';
  /** The first public holiday that held the message back. */
  holiday?: { country: string; date: string; name: string };
}

const formats = new Map<string, Intl.DateTimeFormat>();
function partsAt(now: number, tz: string): Record<string, number> {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(tz, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(now)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

/** Local minutes past midnight at `now` in time zone `tz`. */
export function localMinutes(now: number, tz: string): number {
  const p = partsAt(now, tz);
  return (p.hour ?? 0) * 60 + (p.minute ?? 0);
}

/** The local calendar date (YYYY-MM-DD) at `now` in `tz`. */
export function localDate(now: number, tz: string): string {
  const p = partsAt(now, tz);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** The first instant of the next local day in `tz` (a 23- or 25-hour day of a clock change included). */
export function nextLocalMidnight(now: number, tz: string): number {
  const p = partsAt(now, tz);
  let t = now - (((p.hour ?? 0) * 60 + (p.minute ?? 0)) * 60 + (p.second ?? 0)) * 1000 - (now % 1000) + 86_400_000;
  const m = localMinutes(t, tz);
  if (m !== 0) t += (m < 720 ? -m : 1440 - m) * 60_000;
  return t;
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** If `now` falls in the quiet window (which may wrap midnight), the epoch ms when it ends; else null. */
export function quietUntil(now: number, start: string, end: string, tz: string): number | null {
  const s = toMinutes(start);
  const e = toMinutes(end);
  const cur = localMinutes(now, tz);
  const inside = s < e ? cur >= s && cur < e : cur >= s || cur < e;
  if (!inside) return null;
  const wait = (e - cur + 1440) % 1440;
  // Round down to the minute so the message leaves right when the window ends.
  return now - (now % 60_000) + wait * 60_000;
}

/** The countries whose public holidays are quiet for this person: theirs (when asked for) and the listed ones. */
export function holidayCountries(q: QuietHours, country: string | null | undefined): string[] {
  const h = q.holidays;
  if (!h) return [];
  const out = h.recipientCountry && country ? [country] : [];
  for (const c of h.countries ?? []) if (!out.includes(c)) out.push(c);
  return out;
}

/**
 * Whether `now` is quiet for a person, and until when. A holiday moves the time to the next local midnight,
 * where the nightly window may hold it until morning, and that morning may be another holiday (Christmas,
 * Boxing Day): the steps repeat until neither applies (bounded: two weeks of holidays in a row is a calendar
 * error, and the message then waits for the next check).
 */
export function quietHoursAt(
  now: number,
  q: QuietHours,
  person: { timezone: string | null; country?: string | null } | null,
): QuietResult | null {
  const timezone = person?.timezone ?? q.defaultTimezone;
  const zoneOf = person?.timezone ? ('person' as const) : ('business' as const);
  const countries = holidayCountries(q, person?.country);
  let t = now;
  let holiday: QuietResult['holiday'];
  for (let step = 0; step < 32; step++) {
    let moved = false;
    if (countries.length) {
      const date = localDate(t, timezone);
      for (const c of countries) {
        const name = holidayOn(c, date);
        if (name === null) continue;
        holiday ??= { country: c, date, name };
        t = nextLocalMidnight(t, timezone);
        moved = true;
        break;
      }
    }
    const u = quietUntil(t, q.start, q.end, timezone);
    if (u !== null && u > t) {
      t = u;
      moved = true;
    }
    if (!moved) break;
  }
  if (t === now) return null;
  return { until: t, timezone, zoneOf, ...(holiday ? { holiday } : {}) };
}
