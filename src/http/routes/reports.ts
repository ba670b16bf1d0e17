import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ServiceContext } from '../../services/context.js';
import { businessOf } from '../auth.js';
import { errorResponses, Nullable } from '../schemas/common.js';
import {
  eventReport,
  funnelReport,
  optOutRateReport,
  refusalReport,
  totalsReport,
} from '../../services/reports/consent-reports.js';

// Times are ISO 8601 instants (or plain dates, read as midnight in `tz`); `to` is exclusive.
const Instant = (description: string) => Type.String({ minLength: 10, maxLength: 40, description });
const Bucket = Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('week')], {
  default: 'day',
  description: 'Bucket width, in the chosen time zone (weeks start on Monday)',
});
const Tz = Type.String({
  minLength: 1,
  maxLength: 64,
  default: 'UTC',
  description: 'IANA time zone of the buckets, e.g. Europe/London',
});
const Range = { from: Instant('Start (inclusive)'), to: Instant('End (exclusive)') };

export const EventReportQuery = Type.Object(
  {
    ...Range,
    bucket: Type.Optional(Bucket),
    tz: Type.Optional(Tz),
    groupBy: Type.Optional(
      Type.Union([Type.Literal('channel'), Type.Literal('topic'), Type.Literal('action'), Type.Literal('language')]),
    ),
  },
  { additionalProperties: false },
);
export const RefusalReportQuery = Type.Object(
  { ...Range, bucket: Type.Optional(Bucket), tz: Type.Optional(Tz) },
  { additionalProperties: false },
);
export const OptOutRateQuery = Type.Object(
  {
    ...Range,
    withinHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720, default: 24 })),
    by: Type.Optional(Type.Union([Type.Literal('topic'), Type.Literal('template')], { default: 'topic' })),
  },
  { additionalProperties: false },
);
export const FunnelQuery = Type.Object(
  { ...Range, channel: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })) },
  { additionalProperties: false },
);

const Head = { bucket: Type.String(), tz: Type.String(), from: Type.String(), to: Type.String() };
const EventPoint = Type.Object({
  start: Type.String(),
  optIns: Type.Integer(),
  optOuts: Type.Integer(),
  confirmationsSent: Type.Integer(),
  confirmationsFailed: Type.Integer(),
  expirations: Type.Integer({
    description: 'Consents that expired (a double opt-in never confirmed, or past its validity): never opt-outs',
  }),
});
export const EventReportSchema = Type.Object({
  ...Head,
  groupBy: Nullable(Type.String()),
  series: Type.Array(Type.Object({ key: Nullable(Type.String()), points: Type.Array(EventPoint) })),
});
export const RefusalReportSchema = Type.Object({
  ...Head,
  series: Type.Array(
    Type.Object({
      key: Type.String(),
      points: Type.Array(Type.Object({ start: Type.String(), count: Type.Integer() })),
    }),
  ),
});
export const OptOutRateSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  withinHours: Type.Integer(),
  by: Type.String(),
  rows: Type.Array(
    Type.Object({
      key: Nullable(Type.String()),
      notifications: Type.Integer(),
      optOutsWithin: Type.Integer(),
      rate: Type.Number(),
    }),
  ),
});
export const FunnelSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  rows: Type.Array(
    Type.Object({
      channel: Type.String(),
      invited: Type.Integer(),
      optedIn: Type.Integer(),
      confirmed: Type.Integer(),
    }),
  ),
});
export const TotalsSchema = Type.Object({
  topics: Type.Array(
    Type.Object({
      topic: Type.String(),
      optedIn: Type.Integer(),
      optedOut: Type.Integer(),
      pending: Type.Integer(),
      expired: Type.Integer({ description: 'People whose consent to the topic expired (not opted out)' }),
    }),
  ),
  people: Type.Integer(),
});

export const reportRoutes =
  (ctx: ServiceContext): FastifyPluginAsync =>
  async (app) => {
    const tags = ['reports'];
    app.get<{ Querystring: Static<typeof EventReportQuery> }>(
      '/v1/reports/events',
      {
        schema: {
          tags,
          summary:
            'Opt-ins, opt-outs and confirmations over time, optionally split by channel, topic, action or language',
          querystring: EventReportQuery,
          response: { 200: EventReportSchema, ...errorResponses() },
        },
      },
      async (req) => eventReport(ctx, businessOf(req), req.query),
    );
    app.get<{ Querystring: Static<typeof RefusalReportQuery> }>(
      '/v1/reports/refusals',
      {
        schema: {
          tags,
          summary: 'Messages the send gate refused, by reason code over time',
          querystring: RefusalReportQuery,
          response: { 200: RefusalReportSchema, ...errorResponses() },
        },
      },
      async (req) => refusalReport(ctx, businessOf(req), req.query),
    );
    app.get<{ Querystring: Static<typeof OptOutRateQuery> }>(
      '/v1/reports/opt-out-rate',
      {
        schema: {
          tags,
          summary: 'Opt-outs within N hours of a notification, per topic or per template',
          querystring: OptOutRateQuery,
          response: { 200: OptOutRateSchema, ...errorResponses() },
        },
      },
      async (req) => optOutRateReport(ctx, businessOf(req), req.query),
    );
    app.get<{ Querystring: Static<typeof FunnelQuery> }>(
      '/v1/reports/funnel',
      {
        schema: {
          tags,
          summary: 'Capture funnel per channel: invited, opted in, confirmed on WhatsApp',
          querystring: FunnelQuery,
          response: { 200: FunnelSchema, ...errorResponses() },
        },
      },
      async (req) => funnelReport(ctx, businessOf(req), req.query),
    );
    app.get(
      '/v1/reports/totals',
      {
        schema: {
          tags,
          summary: 'Current consent totals per topic, and the number of people',
          response: { 200: TotalsSchema, ...errorResponses() },
        },
      },
      async (req) => totalsReport(ctx, businessOf(req)),
    );
  };
