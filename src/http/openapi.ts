/**
 * OpenAPI conventions applied in one place, to the document only (validation and serialization are untouched):
 * - every operation gets a stable camelCase `operationId` (the table below, else one derived from method + path)
 *   and a tag (the first path segment after /v1);
 * - error responses (4xx/5xx) are declared as served: `application/problem+json`;
 * - the inbound webhooks (Meta, Twilio) are documented even though their routes are `hide: true`
 *   (hidden so the raw-body plugins stay local; showing them here changes nothing at run time);
 * - numeric `exclusiveMinimum`/`exclusiveMaximum` (JSON Schema 2019+) are rewritten to the 3.0.3 boolean form.
 */

type Json = Record<string, unknown>;

/** Explicit operationIds: `METHOD path` (Fastify pattern) → id. Stable names for generated clients. */
export const OPERATION_IDS: Record<string, string> = {
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  'GET /.well-known/optline-ledger-key': 'getLedgerKey',
  'GET /v1/business': 'getCurrentBusiness',
  'GET /v1/businesses': 'listBusinesses',
  'POST /v1/businesses': 'createBusiness',
  'GET /v1/businesses/:id': 'getBusiness',
  'PATCH /v1/businesses/:id': 'updateBusiness',
  'POST /v1/businesses/:id/keys': 'createBusinessKey',
  'GET /v1/keys': 'listKeys',
  'POST /v1/keys': 'createKey',
  'DELETE /v1/keys/:id': 'revokeKey',
  'GET /v1/topics': 'listTopics',
  'POST /v1/topics': 'createTopic',
  'GET /v1/topics/:id': 'getTopic',
  'PATCH /v1/topics/:id': 'updateTopic',
  'DELETE /v1/topics/:id': 'deleteTopic',
  'GET /v1/texts': 'listTexts',
  'POST /v1/texts': 'createText',
  'GET /v1/texts/:hash': 'getText',
  'POST /v1/texts/check': 'checkText',
  'POST /v1/opt-ins': 'recordOptIn',
  'POST /v1/opt-outs': 'recordOptOut',
  'GET /v1/people': 'listPeople',
  'GET /v1/people/:id': 'getPerson',
  'GET /v1/people/:id/events': 'listPersonEvents',
  'GET /v1/people/:id/proof': 'getPersonProof',
  'POST /v1/people/:id/erase': 'erasePerson',
  'POST /v1/people/:id/preference-link': 'createPreferenceLink',
  'GET /v1/people/:id/timezone': 'getPersonTimezone',
  'PUT /v1/people/:id/timezone': 'setPersonTimezone',
  'POST /v1/decisions': 'decideSend',
  'POST /v1/decisions/batch': 'decideSendBatch',
  'GET /v1/messages': 'listMessages',
  'POST /v1/messages': 'queueMessage',
  'GET /v1/messages/:id': 'getMessage',
  'POST /v1/messages/:id/resolve': 'resolveMessage',
  'POST /v1/replies': 'queueReply',
  'GET /v1/events': 'listEvents',
  'GET /v1/ledger/verify': 'verifyLedger',
  'GET /v1/reports/totals': 'getTotals',
  'GET /v1/review-items': 'listReviewItems',
  'POST /v1/review-items/:id/resolve': 'resolveReviewItem',
  'GET /v1/capture-settings': 'getCaptureSettings',
  'GET /v1/channels/whatsapp': 'getWhatsappChannel',
  'PUT /v1/channels/whatsapp': 'putWhatsappChannel',
  'PUT /v1/channels/smtp': 'putSmtpChannel',
  'POST /v1/sms/invitations': 'sendSmsInvitation',
  'POST /v1/email/invitations': 'sendEmailInvitation',
  'POST /v1/whatsapp/opt-in-prompts': 'sendWhatsappOptInPrompt',
  'POST /v1/imports': 'createImport',
  'GET /v1/imports/:id': 'getImport',
  'GET /v1/imports/:id/rejects': 'getImportRejects',
  'GET /v1/templates/health': 'getTemplateHealth',
  'POST /v1/templates/:name/resume': 'resumeTemplate',
  'GET /webhooks/whatsapp': 'verifyWhatsappWebhook',
  'POST /webhooks/whatsapp': 'receiveWhatsappWebhook',
  'POST /webhooks/twilio/sms': 'receiveTwilioSms',
  'POST /webhooks/twilio/voice': 'receiveTwilioVoice',
  'POST /webhooks/twilio/voice/choice': 'receiveTwilioVoiceChoice',
};

/** Hidden routes that are nevertheless part of the documented surface (the inbound webhooks). */
const DOCUMENTED_HIDDEN = /^\/webhooks\//;

const camel = (parts: string[]) =>
  parts
    .map((p) => p.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')))
    .filter(Boolean)
    .map((p, i) => (i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1)))
    .join('');

/** The operationId of a route: from the table, else method + path (`POST /v1/foo/:id/bar` → `postFooByIdBar`). */
export function operationIdFor(method: string, url: string): string {
  const known = OPERATION_IDS[`${method.toUpperCase()} ${url}`];
  if (known) return known;
  const segs = url
    .split('/')
    .filter((s) => s && s !== 'v1')
    .map((s) => (s.startsWith(':') ? `by-${s.slice(1)}` : s === '*' ? 'any' : s));
  return camel([method.toLowerCase(), ...segs]);
}

export function tagFor(url: string): string {
  const segs = url.split('/').filter(Boolean);
  if (segs[0] === 'webhooks') return 'webhooks';
  if (segs[0] === 'v1') return segs[1] ?? 'api';
  if (segs[0] === 'healthz' || segs[0] === 'readyz' || segs[0] === 'metrics') return 'operations';
  return segs[0]?.replace(/^\./, '') ?? 'api';
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

/** `transform` for @fastify/swagger: operationId, tags, un-hiding the webhooks. */
export function openapiRouteTransform({
  schema,
  url,
  route,
}: {
  schema: unknown;
  url: string;
  route: { method: string | string[] };
}): { schema: Json; url: string } {
  const s: Json = { ...((schema as Json | undefined) ?? {}) };
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  if (s.hide === true && DOCUMENTED_HIDDEN.test(url) && method !== 'HEAD') {
    delete s.hide;
    if (!s.summary) s.summary = `Inbound webhook (${method} ${url}); the signature is checked on the raw body`;
  }
  if (!s.hide) {
    s.operationId ??= operationIdFor(method, url);
    if (!Array.isArray(s.tags) || s.tags.length === 0) s.tags = [tagFor(url)];
  }
  return { schema: s, url };
}

/** Rewrites what 3.0.3 does not allow; declares error responses as application/problem+json. */
export function openapiDocumentTransform({ openapiObject }: { openapiObject: Json }): Json {
  const fix = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(fix);
    if (!v || typeof v !== 'object') return v;
    const o = v as Json;
    for (const k of ['exclusiveMinimum', 'exclusiveMaximum'] as const) {
      if (typeof o[k] === 'number') {
        const bound = k === 'exclusiveMinimum' ? 'minimum' : 'maximum';
        o[bound] = o[k];
        o[k] = true;
      }
    }
    for (const [k, x] of Object.entries(o)) o[k] = fix(x);
    return o;
  };
  fix(openapiObject.components);
  const paths = (openapiObject.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      fix(op);
      const responses = (op.responses ?? {}) as Record<string, Json>;
      for (const [status, res] of Object.entries(responses)) {
        if (!/^[45]/.test(status)) continue;
        const content = (res.content ?? {}) as Record<string, Json>;
        const media = content['application/json'] ?? content['application/problem+json'];
        res.content = { 'application/problem+json': media ?? { schema: PROBLEM_REF } };
        res.description ??= 'Problem details';
      }
    }
  }
  return openapiObject;
}
