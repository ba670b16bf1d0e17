import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CODES, type ErrorCode, type FieldProblem } from '../domain/errors.js';

/** The one place error codes become HTTP statuses. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_CURSOR: 400,
  INVALID_PHONE: 422,
  UNKNOWN_TOPIC: 422,
  TOPIC_ARCHIVED: 422,
  NO_USER_ACTION: 422,
  MISSING_EVIDENCE: 422,
  CATEGORY_NOT_ALLOWED: 422,
  UNKNOWN_TEXT: 422,
  TEXT_CHECK_FAILED: 422,
  TEXT_TOPICS_MISMATCH: 422,
  CONTACT_ERASED: 409,
  PERSON_ERASED: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  SEND_REFUSED: 422,
  INVALID_POLICY: 400,
  RATE_LIMITED: 429,
  WEBHOOK_SIGNATURE_INVALID: 401,
  WEBHOOK_VERIFY_FAILED: 403,
  INVALID_TOKEN: 400,
  CHANNEL_NOT_CONFIGURED: 409,
  WINDOW_CLOSED: 409,
  NOT_READY: 503,
  INTERNAL: 500,
  CHANNEL_SEND_FAILED: 502,
  RECIPIENT_OPTED_OUT: 409,
  WEBHOOK_TARGET_REFUSED: 422,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  requestId: string;
  errors?: FieldProblem[];
  [k: string]: unknown;
}

export function problem(
  code: ErrorCode,
  detail: string,
  requestId: string,
  errors: FieldProblem[] = [],
  extra: Record<string, unknown> = {},
): Problem {
  const status = HTTP_STATUS[code];
  return {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    requestId,
    ...(errors.length ? { errors } : {}),
    ...extra,
  };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** Ajv's instancePath ("/person/phone", "/topics/2") as the field name clients see ("person.phone", "topics[2]"). */
function fieldOf(e: { instancePath?: string; params?: Record<string, unknown> }, part: string): string {
  let path = (e.instancePath ?? '')
    .replace(/^\//, '')
    .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
    .replace(/\//g, '.');
  path = path.replace(/^(\d+)/, '[$1]');
  const extra = (e.params?.additionalProperty ?? e.params?.missingProperty) as string | undefined;
  if (extra) path = path ? `${path}.${extra}` : extra;
  if (part !== 'body') path = path ? `${part}.${path}` : part;
  return path || part;
}

function validationMessage(e: { keyword?: string; message?: string; params?: Record<string, unknown> }): string {
  if (e.keyword === 'additionalProperties') return 'is not a known field';
  if (e.keyword === 'required') return 'is required';
  return e.message ?? 'is not valid';
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(
    (
      err: FastifyError & { validation?: unknown[]; validationContext?: string },
      req: FastifyRequest,
      reply: FastifyReply,
    ) => {
      if (err instanceof AppError) {
        return sendProblem(reply, problem(err.code, err.message, req.id, err.problems, err.extra));
      }
      if (err.validation) {
        const part = err.validationContext ?? 'body';
        const errors = (
          err.validation as {
            instancePath?: string;
            keyword?: string;
            message?: string;
            params?: Record<string, unknown>;
          }[]
        ).map((e) => ({
          field: fieldOf(e, part),
          message: validationMessage(e),
        }));
        const first = errors[0];
        return sendProblem(
          reply,
          problem(
            'VALIDATION_FAILED',
            first ? `${first.field} ${first.message}.` : 'The request is not valid.',
            req.id,
            errors,
          ),
        );
      }
      switch (err.code) {
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return sendProblem(reply, problem('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.', req.id));
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          return sendProblem(reply, problem('BODY_TOO_LARGE', 'The request body is larger than the limit.', req.id));
        case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        case 'FST_ERR_CTP_INVALID_JSON_BODY':
          return sendProblem(reply, problem('MALFORMED_JSON', 'The body is not valid JSON.', req.id));
      }
      if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
        return sendProblem(reply, problem('MALFORMED_JSON', 'The body is not valid JSON.', req.id));
      }
      if (err.statusCode === 429) {
        return sendProblem(
          reply,
          problem('RATE_LIMITED', 'Too many requests; slow down and retry after the Retry-After delay.', req.id),
        );
      }
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        return sendProblem(reply, problem('VALIDATION_FAILED', 'The request is not valid.', req.id));
      }
      // Anything else is ours: log it whole, tell the client nothing of its internals.
      req.log.error({ err }, 'unhandled error');
      return sendProblem(
        reply,
        problem('INTERNAL', 'Something went wrong on our side. It was logged with this request id.', req.id),
      );
    },
  );

  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problem('ROUTE_NOT_FOUND', `No endpoint ${req.method} ${req.url.split('?')[0]}.`, req.id)),
  );
}

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];
