import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { fail } from '../../domain/errors.js';
import type { ServiceContext } from '../../services/context.js';
import { getImportJobView, getImportRejects, receiveImport } from '../../services/import/import-jobs.js';
import type { ImportOptions } from '../../services/import/run-import.js';
import { actorOf, businessOf } from '../auth.js';
import { errorResponses, IdParams, Nullable, Timestamp } from '../schemas/common.js';

/** The default largest upload (OPTLINE_IMPORT_BODY_LIMIT_BYTES): a million-row export fits. */
export const DEFAULT_IMPORT_BODY_LIMIT = 256 * 1024 * 1024;

const Count = Type.Integer({ minimum: 0 });
export const ImportJobSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.String({ description: 'consents or opt-outs' }),
    status: Type.Union(['receiving', 'queued', 'running', 'done', 'failed'].map((s) => Type.Literal(s))),
    fileName: Type.String(),
    fileBytes: Count,
    bytesRead: Type.Integer({ minimum: 0, description: 'Bytes of the file read so far (with rowsRead: the progress)' }),
    rowsRead: Count,
    options: Type.Record(Type.String(), Type.Unknown()),
    dryRun: Type.Boolean(),
    counts: Type.Object({ imported: Count, duplicates: Count, refused: Count, confirmations: Count }),
    refusedByCode: Type.Record(Type.String(), Count),
    error: Nullable(Type.String()),
    attempts: Count,
    createdAt: Timestamp,
    startedAt: Nullable(Timestamp),
    finishedAt: Nullable(Timestamp),
  },
  { $id: 'ImportJob' },
);

const ImportQuery = Type.Object(
  {
    kind: Type.Optional(
      Type.Union([Type.Literal('consents'), Type.Literal('opt-outs')], {
        default: 'consents',
        description: 'opt-ins (default) or a STOP / suppression list',
      }),
    ),
    confirm: Type.Optional(
      Type.Boolean({
        description: 'Queue a WhatsApp confirmation for each person whose consent changed (like --confirm)',
      }),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'Check and count every row, write nothing (like --dry-run)' })),
    defaultCountry: Type.Optional(
      Type.String({ minLength: 2, maxLength: 2, description: 'Country of numbers without +code, e.g. GB' }),
    ),
    text: Type.Optional(
      Type.String({
        minLength: 64,
        maxLength: 64,
        pattern: '^[0-9a-f]{64}$',
        description: 'Opt-in text hash for rows without text_hash',
      }),
    ),
    format: Type.Optional(
      Type.String({
        maxLength: 16,
        description: 'kind opt-outs: list, twilio, braze or mapped (found from the header when absent)',
      }),
    ),
    map: Type.Optional(
      Type.String({
        maxLength: 300,
        description: 'kind opt-outs, format mapped: e.g. phone=Phone,occurredAt=Date,status=State',
      }),
    ),
    fileName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: "Kept in each event's evidence; default upload.csv" }),
    ),
  },
  { additionalProperties: false },
);

type Query = Omit<ImportOptions, 'kind'> & { kind?: ImportOptions['kind']; fileName?: string };

declare module 'fastify' {
  interface FastifyRequest {
    uploadStream?: AsyncIterable<Buffer>;
  }
}

export const importRoutes =
  (ctx: ServiceContext, o: { limitBytes: number; wake?: () => void }): FastifyPluginAsync =>
  async (app) => {
    const tags = ['imports'];
    // The CSV is not parsed here: the route reads the request stream itself and stores it as it arrives.
    app.addContentTypeParser(['text/csv', 'application/csv'], (req: FastifyRequest, payload, done) => {
      req.uploadStream = payload as unknown as AsyncIterable<Buffer>;
      done(null, undefined);
    });
    app.post<{ Querystring: Query }>(
      '/v1/imports',
      {
        schema: {
          tags,
          querystring: ImportQuery,
          summary: `Upload a CSV file to import (Content-Type: text/csv, streamed, at most OPTLINE_IMPORT_BODY_LIMIT_BYTES); answers 202 with the job`,
          description:
            'The same import as `optline import`: consents (columns phone, topics, action, occurred_at, channel, text_hash, evidence_*) or opt-outs. Follow the job at GET /v1/imports/{id}.',
          consumes: ['text/csv'],
          response: { 202: Type.Ref('ImportJob'), ...errorResponses(413, 415, 422) },
        },
      },
      async (req, reply) => {
        const { fileName, ...rest } = req.query;
        if (!req.uploadStream)
          fail(
            'UNSUPPORTED_MEDIA_TYPE',
            'Send the file as the request body with Content-Type: text/csv.',
            'content-type',
          );
        const job = await receiveImport(ctx, businessOf(req), {
          options: { ...rest, kind: rest.kind ?? 'consents' },
          fileName: fileName ?? 'upload.csv',
          actor: actorOf(req),
          body: req.uploadStream!,
          limitBytes: o.limitBytes,
        });
        o.wake?.();
        return reply.code(202).header('location', `/v1/imports/${job.id}`).send(job);
      },
    );
    app.get<{ Params: { id: string } }>(
      '/v1/imports/:id',
      {
        schema: {
          tags,
          summary: 'An import: status, progress (rows and bytes read), counts by outcome, error',
          params: IdParams,
          response: { 200: Type.Ref('ImportJob'), ...errorResponses(404) },
        },
      },
      async (req) => getImportJobView(ctx, businessOf(req), req.params.id),
    );
    app.get<{ Params: { id: string } }>(
      '/v1/imports/:id/rejects',
      {
        schema: {
          tags,
          summary: 'The refused rows of a finished import as CSV (row, code, field, reason)',
          params: IdParams,
          produces: ['text/csv'],
          response: { 200: { description: 'CSV', type: 'string' }, ...errorResponses(404, 409) },
        },
      },
      async (req, reply) => {
        const csv = await getImportRejects(ctx, businessOf(req), req.params.id);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${req.params.id}-rejects.csv"`)
          .send(csv);
      },
    );
  };
