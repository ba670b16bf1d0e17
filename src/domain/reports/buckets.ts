import { fail } from '../errors.js';

/**
 * Report time: buckets of an hour, a day or a week (from Monday) in an IANA time zone, DST-correct (a day in
 * Europe/London is 23 or 25 hours at the changes). Counts are read from the database per 15-minute UTC slot
 * (every zone's offset is a multiple of 15 minutes) and each slot is put in the bucket that holds its start.
 */
export type BucketWidth = 'hour' | 'day' | 'week';
export const SLOT_MS = 15 * 60 * 1000;
const MAX_BUCKETS = 2000;

export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
  } catch {
    fail('VALIDATION_FAILED', `"${tz}" is not an IANA time zone (e.g. Europe/London, UTC).`, 'tz');
  }
  return tz;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function parts(ms: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  const o: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') o[p.type] = Number(p.value);
  return { y: o.year!, mo: o.month!, d: o.day!, h: o.hour!, mi: o.minute!, s: o.second! };
}

/** The zone's offset from UTC at an instant, in ms. */
export function offsetAt(ms: number, tz: string): number {
  const p = parts(ms, tz);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The instant of a local wall time (the earlier one when it occurs twice, the later when it is skipped). */
export function localToInstant(y: number, mo: number, d: number, h: number, tz: string): number {
  const wall = Date.UTC(y, mo - 1, d, h);
  let t = wall - offsetAt(wall, tz);
  t = wall - offsetAt(t, tz);
  return t;
}

/** `from`/`to`: an ISO instant with Z or an offset, or a plain date (midnight in `tz`). */
export function parseInstant(v: string, tz: string, field: string): number {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (date) {
    const [y, mo, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const probe = new Date(Date.UTC(y, mo - 1, d));
    if (probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d)
      fail('VALIDATION_FAILED', `${field} is not a calendar date.`, field);
    return localToInstant(y, mo, d, 0, tz);
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
    fail(
      'VALIDATION_FAILED',
      `${field} must be an ISO 8601 instant with Z or an offset (2026-03-01T00:00:00Z) or a date (2026-03-01).`,
      field,
    );
  }
  const t = Date.parse(v);
  if (!Number.isFinite(t)) fail('VALIDATION_FAILED', `${field} is not a valid time.`, field);
  return t;
}

export interface ReportRange {
  from: number;
  to: number;
  tz: string;
  bucket: BucketWidth;
  starts: number[];
}

/** Checks a report's range and lists the bucket starts covering [from, to). */
export function reportRange(q: { from: string; to: string; tz?: string; bucket?: BucketWidth }): ReportRange {
  const tz = checkTimeZone(q.tz ?? 'UTC');
  const bucket = q.bucket ?? 'day';
  const from = parseInstant(q.from, tz, 'from');
  const to = parseInstant(q.to, tz, 'to');
  if (to <= from) fail('VALIDATION_FAILED', 'to must be after from.', 'to');
  const starts: number[] = [];
  let t = floorToBucket(from, tz, bucket);
  while (t < to) {
    starts.push(t);
    if (starts.length > MAX_BUCKETS)
      fail(
        'VALIDATION_FAILED',
        `The range holds more than ${MAX_BUCKETS} ${bucket} buckets: choose a wider bucket or a shorter range.`,
        'to',
      );
    t = nextBucket(t, tz, bucket);
  }
  return { from, to, tz, bucket, starts };
}

/** Range without buckets (opt-out rate, funnel): times read in UTC. */
export function plainRange(q: { from: string; to: string }): { from: number; to: number } {
  const from = parseInstant(q.from, 'UTC', 'from');
  const to = parseInstant(q.to, 'UTC', 'to');
  if (to <= from) fail('VALIDATION_FAILED', 'to must be after from.', 'to');
  return { from, to };
}

function floorToBucket(ms: number, tz: string, b: BucketWidth): number {
  const p = parts(ms, tz);
  if (b === 'hour') return ms - (p.mi * 60_000 + p.s * 1000 + (((ms % 1000) + 1000) % 1000));
  let day = localToInstant(p.y, p.mo, p.d, 0, tz);
  if (day > ms) day = localToInstant(p.y, p.mo, p.d - 1, 0, tz);
  if (b === 'day') return day;
  const weekday = (new Date(Date.UTC(p.y, p.mo - 1, p.d)).getUTCDay() + 6) % 7; // Monday 0
  return localToInstant(p.y, p.mo, p.d - weekday, 0, tz);
}

function nextBucket(start: number, tz: string, b: BucketWidth): number {
  if (b === 'hour') return start + 3_600_000;
  const p = parts(start, tz);
  return localToInstant(p.y, p.mo, p.d + (b === 'day' ? 1 : 7), 0, tz);
}

/** The index of the bucket holding an instant (starts ascending), or -1 before the first. */
export function bucketIndex(starts: number[], ms: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= ms) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}
