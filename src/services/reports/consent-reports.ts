import type { ServiceContext } from '../context.js';
import {
  bucketIndex,
  plainRange,
  reportRange,
  type BucketWidth,
  type ReportRange,
} from '../../domain/reports/buckets.js';
import {
  countEventsBySlot,
  countRefusalsBySlot,
  funnel,
  optOutRates,
  totals,
  type EventGroup,
} from '../../storage/reports/report-store.js';

/** The reporting API (issue 11): counts read from the ledger and the outbox, bucketed in the caller's zone. */
export interface RangeQuery {
  from: string;
  to: string;
}
export interface BucketQuery extends RangeQuery {
  bucket?: BucketWidth;
  tz?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const head = (r: ReportRange) => ({ bucket: r.bucket, tz: r.tz, from: iso(r.from), to: iso(r.to) });
// `expired`: a consent that lapsed (a double opt-in never confirmed, or past its topic's validity), never an opt-out.
const FIELD: Record<string, 'optIns' | 'optOuts' | 'confirmationsSent' | 'confirmationsFailed' | 'expirations'> = {
  opt_in: 'optIns',
  opt_out: 'optOuts',
  confirmation_sent: 'confirmationsSent',
  confirmation_failed: 'confirmationsFailed',
  expired: 'expirations',
};

export async function eventReport(
  ctx: ServiceContext,
  businessId: string,
  q: BucketQuery & { groupBy?: Exclude<EventGroup, null> },
) {
  const r = reportRange(q);
  const rows = await countEventsBySlot(ctx.database, businessId, r.from, r.to, q.groupBy ?? null);
  type Field = 'optIns' | 'optOuts' | 'confirmationsSent' | 'confirmationsFailed' | 'expirations';
  type Point = { start: string } & Record<Field, number>;
  const series = new Map<string | null, Point[]>();
  const pointsOf = (key: string | null) => {
    let p = series.get(key);
    if (!p) {
      const zero = { optIns: 0, optOuts: 0, confirmationsSent: 0, confirmationsFailed: 0, expirations: 0 };
      p = r.starts.map((s) => ({ start: iso(s), ...zero }));
      series.set(key, p);
    }
    return p;
  };
  if (!q.groupBy) pointsOf(null);
  for (const row of rows) {
    const field = FIELD[row.type];
    if (!field) continue;
    pointsOf(row.key)[Math.max(0, bucketIndex(r.starts, row.slot))]![field] += row.n;
  }
  const keys = [...series.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)));
  return { ...head(r), groupBy: q.groupBy ?? null, series: keys.map((key) => ({ key, points: series.get(key)! })) };
}

export async function refusalReport(ctx: ServiceContext, businessId: string, q: BucketQuery) {
  const r = reportRange(q);
  const rows = await countRefusalsBySlot(ctx.database, businessId, r.from, r.to);
  const series = new Map<string, { start: string; count: number }[]>();
  for (const row of rows) {
    let p = series.get(row.reason);
    if (!p) series.set(row.reason, (p = r.starts.map((s) => ({ start: iso(s), count: 0 }))));
    p[Math.max(0, bucketIndex(r.starts, row.slot))]!.count += row.n;
  }
  return { ...head(r), series: [...series.keys()].sort().map((key) => ({ key, points: series.get(key)! })) };
}

export async function optOutRateReport(
  ctx: ServiceContext,
  businessId: string,
  q: RangeQuery & { withinHours?: number; by?: 'topic' | 'template' },
) {
  const { from, to } = plainRange(q);
  const withinHours = q.withinHours ?? 24;
  const by = q.by ?? 'topic';
  const { sent, outs } = await optOutRates(ctx.database, businessId, from, to, withinHours * 3_600_000, by);
  const outsOf = new Map(outs.map((o) => [o.key, o.n]));
  const rows = sent
    .map((s) => ({
      key: s.key,
      notifications: s.n,
      optOutsWithin: outsOf.get(s.key) ?? 0,
      rate: s.n ? (outsOf.get(s.key) ?? 0) / s.n : 0,
    }))
    .sort((a, b) => b.rate - a.rate || String(a.key).localeCompare(String(b.key)));
  return { from: iso(from), to: iso(to), withinHours, by, rows };
}

export async function funnelReport(ctx: ServiceContext, businessId: string, q: RangeQuery & { channel?: string }) {
  const { from, to } = plainRange(q);
  const f = await funnel(ctx.database, businessId, from, to, q.channel);
  const channels = new Set([...f.invited.map((x) => x.channel), ...f.optedIn.map((x) => x.channel)]);
  const rows = [...channels].sort().map((channel) => {
    const o = f.optedIn.find((x) => x.channel === channel);
    return {
      channel,
      invited: f.invited.find((x) => x.channel === channel)?.n ?? 0,
      optedIn: o?.opted ?? 0,
      confirmed: o?.confirmed ?? 0,
    };
  });
  return { from: iso(from), to: iso(to), rows };
}

export async function totalsReport(ctx: ServiceContext, businessId: string) {
  const t = await totals(ctx.database, businessId);
  const byTopic = new Map<
    string,
    { topic: string; optedIn: number; optedOut: number; pending: number; expired: number }
  >();
  for (const row of t.rows) {
    const e = byTopic.get(row.topic) ?? { topic: row.topic, optedIn: 0, optedOut: 0, pending: 0, expired: 0 };
    if (row.status === 'opted_in') e.optedIn += row.n;
    else if (row.status === 'opted_out') e.optedOut += row.n;
    else if (row.status === 'pending') e.pending += row.n;
    else if (row.status === 'expired') e.expired += row.n;
    byTopic.set(row.topic, e);
  }
  return { topics: [...byTopic.values()].sort((a, b) => a.topic.localeCompare(b.topic)), people: t.people };
}
