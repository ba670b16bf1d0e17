/**
 * The stable error codes of Optline. Every code here has a row in docs/errors.md (a test keeps them in sync)
 * and an HTTP status in http/error-handler.ts. Outcomes such as "no consent" are not errors: they are gate
 * reasons (domain/gate/decide.ts).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 'A field is missing, of the wrong type, out of range or not allowed.',
  MALFORMED_JSON: 'The request body is not valid JSON.',
  UNSUPPORTED_MEDIA_TYPE: 'The request body has a content type this endpoint does not accept.',
  BODY_TOO_LARGE: 'The request body is larger than the configured limit.',
  UNAUTHENTICATED: 'The API key is missing, malformed, unknown or revoked.',
  FORBIDDEN: 'The API key is valid but may not do this (for example a business key on an admin route).',
  NOT_FOUND: 'The resource does not exist, or belongs to another business.',
  ROUTE_NOT_FOUND: 'No endpoint has this method and path.',
  CONFLICT: 'The resource already exists (for example a slug or topic key that is taken).',
  INVALID_CURSOR: 'The pagination cursor is not one this API issued.',
  INVALID_PHONE: 'The phone number cannot be parsed to a valid E.164 number.',
  UNKNOWN_TOPIC: 'A topic key does not exist for this business.',
  TOPIC_ARCHIVED: 'The topic is archived and takes no new opt-ins.',
  NO_USER_ACTION: 'An opt-in was submitted without an active user action (policy: consent must be an active choice).',
  MISSING_EVIDENCE: 'An opt-in lacks the evidence its channel requires.',
  CATEGORY_NOT_ALLOWED: "The topic's category (for example marketing) is not allowed by the business's policy.",
  UNKNOWN_TEXT: 'The opt-in text hash does not name a text registered for this business.',
  TEXT_CHECK_FAILED: 'The opt-in text does not pass the policy checks and cannot be used.',
  TEXT_TOPICS_MISMATCH: 'The opt-in text does not cover every topic being opted into.',
  CONTACT_ERASED: 'The number was erased and is suppressed; it cannot be re-added by import.',
  PERSON_ERASED: 'The person was erased; their data is gone and nothing more can be recorded for them.',
  IDEMPOTENCY_KEY_REUSED: 'The Idempotency-Key was used before with a different request body.',
  SEND_REFUSED: 'The send gate refused the message; the response lists every reason and the events behind it.',
  INVALID_POLICY: 'The business policy is not valid.',
  RATE_LIMITED: 'Too many requests; retry after the time given in Retry-After.',
  WEBHOOK_SIGNATURE_INVALID: 'A provider webhook is unsigned or its signature does not match.',
  WEBHOOK_VERIFY_FAILED: 'The webhook verification handshake failed (wrong mode or verify token).',
  INVALID_TOKEN: 'A signed link is tampered with, expired or already used.',
  CHANNEL_NOT_CONFIGURED: 'The business has no credentials for the channel this needs.',
  WINDOW_CLOSED:
    'The person has not written in the last 24 hours, so no free-form WhatsApp message may be sent to them.',
  NOT_READY: 'The service is starting or its database is unreachable.',
  INTERNAL: 'An unexpected error; it was logged with the request id.',
  CHANNEL_SEND_FAILED: 'The SMS or email provider refused or did not take the message; nothing was recorded as sent.',
  RECIPIENT_OPTED_OUT: 'The person opted out (or unsubscribed from invitations); no invitation is sent to them.',
  WEBHOOK_TARGET_REFUSED:
    'The webhook URL is not allowed: not http(s), carries credentials, or resolves to a private, loopback or link-local address.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldProblem {
  field: string;
  message: string;
}

/** A refusal the caller can fix. Carries no HTTP knowledge: the edge maps `code` to a status. */
export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly problems: FieldProblem[] = [],
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const fail = (code: ErrorCode, message: string, field?: string, extra?: Record<string, unknown>): never => {
  throw new AppError(code, message, field ? [{ field, message }] : [], extra);
};

/** Throws a rule's refusal (domain/consent/opt-in-rules.ts) as an AppError on `field`; nothing when there is none. */
export function refuseIf(r: { code: ErrorCode; message: string } | null, field: string): void {
  if (r) fail(r.code, r.message, field);
}
