import type { ServiceContext } from '../context.js';

export interface RangeQuery { from: string; to: string }
export interface BucketQuery extends RangeQuery { bucket?: 'hour' | 'day' | 'week'; tz?: string }

export async function eventReport(_ctx: ServiceContext, _businessId: string, q: BucketQuery & { groupBy?: string }) {
  return { bucket: q.bucket ?? 'day', tz: q.tz ?? 'UTC', from: q.from, to: q.to, groupBy: q.groupBy ?? null, series: [] };
}
export async function refusalReport(_ctx: ServiceContext, _businessId: string, q: BucketQuery) {
  return { bucket: q.bucket ?? 'day', tz: q.tz ?? 'UTC', from: q.from, to: q.to, series: [] };
}
export async function optOutRateReport(_ctx: ServiceContext, _businessId: string, q: RangeQuery & { withinHours?: number; by?: string }) {
  return { from: q.from, to: q.to, withinHours: q.withinHours ?? 24, by: q.by ?? 'topic', rows: [] };
}
export async function funnelReport(_ctx: ServiceContext, _businessId: string, q: RangeQuery & { channel?: string }) {
  return { from: q.from, to: q.to, rows: [] };
}
export async function totalsReport(_ctx: ServiceContext, _businessId: string) {
  return { topics: [], people: 0 };
}
