import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { ServiceContext } from '../services/context.js';
import { registerAuth } from './auth.js';
import { registerErrorHandling } from './error-handler.js';
import { registerInputGuard } from './input-guard.js';
import { ProblemSchema } from './schemas/common.js';
import { openapiDocumentTransform, openapiRouteTransform } from './openapi.js';
import { Metrics } from '../lib/metrics.js';
import { registerMetrics } from './routes/metrics.js';
import { twilioSmsPort } from '../channels/twilio/sms-port.js';
import { smtpMailPort } from '../channels/smtp/mail-port.js';
import { healthRoutes, type ProcessLeases } from './routes/health.js';
import { businessRoutes } from './routes/businesses.js';
import { keyRoutes } from './routes/keys.js';
import { topicRoutes } from './routes/topics.js';
import { textRoutes } from './routes/texts.js';
import { consentRoutes } from './routes/consents.js';
import { peopleRoutes } from './routes/people.js';
import { personTimezoneRoutes } from './routes/person-timezone.js';
import { decisionRoutes } from './routes/decisions.js';
import { messageRoutes } from './routes/messages.js';
import { ledgerRoutes } from './routes/ledger.js';
import { ledgerKeyRoutes } from './routes/ledger-key.js';
import { reportRoutes } from './routes/reports.js';
import { BusinessSchema } from './schemas/business.js';
import { TopicSchema } from './routes/topics.js';
import { TextSchema } from './routes/texts.js';
import { EventSchema, PersonSchema } from './routes/people.js';
import { DecisionSchema } from './routes/decisions.js';
import { MessageSchema } from './routes/messages.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';
import { whatsappWebhookRoutes } from './routes/whatsapp-webhook.js';
import { whatsappChatRoutes } from './routes/whatsapp-chat.js';
import { messageResolveRoutes } from './routes/message-resolve.js';
import { consoleRoutes } from './routes/console.js';
import { auditLogRoutes } from './routes/audit-log.js';
import { templateRoutes } from './routes/templates.js';
import { DEFAULT_IMPORT_BODY_LIMIT, ImportJobSchema, importRoutes } from './routes/imports.js';
import { capturePlugins } from './capture-plugins.js';
import type { CaptureOptions } from './capture-options.js';
import type { InboxProcessor } from '../worker/inbox/processor.js';

// Named schemas ($id) are shared by every route plugin and listed under components in the OpenAPI document.
const SHARED_SCHEMAS = [
  BusinessSchema,
  TopicSchema,
  TextSchema,
  PersonSchema,
  EventSchema,
  DecisionSchema,
  MessageSchema,
  ImportJobSchema,
];

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface AppDeps {
  ctx: ServiceContext;
  config: Pick<Config, 'bodyLimitBytes' | 'publicUrl' | 'webhookBodyLimitBytes'> & Partial<Config>;
  logger?: Logger;
  /**
   * The WhatsApp webhook: the processor that takes stored items right after the 200 (main.ts passes the one
   * it started, so one processor serves both paths; without one the webhook makes its own), and the shared
   * app's secret and verify token when they are not the configured ones (the sandbox signs with its own).
   */
  whatsapp?: { processor?: InboxProcessor; sharedAppSecret?: string | null; sharedVerifyToken?: string | null };
  /**
   * Options of the capture pages and channels beyond what the config gives (rate limits, link lifetimes,
   * a loopback Twilio). Without a configured Twilio URL, SMS and calls go to a closed loopback port.
   */
  capture?: Partial<CaptureOptions>;
  /** The once-per-database loops' leases main.ts took (worker/lease.ts), reported by /readyz. */
  leases?: ProcessLeases;
  /** Imports through the API: the job runner main.ts started, woken when an upload is stored (else the next poll). */
  imports?: { wake(): void };
}

/**
 * Bodies are validated strictly (no coercion, unknown fields refused); query strings and params are coerced
 * from their string form. Two Ajv instances, chosen per part of the request.
 */
function validators() {
  const opts = { allErrors: true, removeAdditional: false as const, useDefaults: true, strict: false, messages: true };
  const strictAjv = addFormats(new Ajv({ ...opts, coerceTypes: false }));
  const coercing = addFormats(new Ajv({ ...opts, coerceTypes: 'array' as const }));
  for (const a of [strictAjv, coercing]) a.addSchema(ProblemSchema);
  return { strictAjv, coercing };
}

/** Builds the whole HTTP app. Never listens: main.ts does, tests use app.inject(). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    bodyLimit: deps.config.bodyLimitBytes,
    // A client has this long to send a whole request; the server checks every second, so a slow-body
    // connection (a byte every few seconds) is cut within a second of its deadline instead of held open.
    requestTimeout: deps.config.requestTimeoutMs ?? 30_000,
    // Node ignores a request timeout shorter than its headers timeout (60 s by default): set both at creation.
    http: {
      connectionsCheckingInterval: 1000,
      requestTimeout: deps.config.requestTimeoutMs ?? 30_000,
      headersTimeout: Math.min(60_000, deps.config.requestTimeoutMs ?? 30_000),
    },
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    requestIdHeader: false,
    trustProxy: deps.config.trustProxy ?? false,
    ajv: { customOptions: { removeAdditional: false } },
  }) as unknown as FastifyInstance;
  const { strictAjv, coercing } = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercing).compile(schema));
  // The API speaks JSON only; channel plugins add the form parsers they need in their own scope.
  app.removeContentTypeParser('text/plain');
  app.addSchema(ProblemSchema);
  for (const sch of SHARED_SCHEMAS) app.addSchema(sch);
  // Callback style, not async: every response passes here, and an async hook costs a promise per request.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    done(null, payload);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Optline API',
        version: '1',
        description:
          'Consent gateway for WhatsApp Business notifications: record opt-ins with evidence, ask the send gate, queue notifications, honour every opt-out. Errors are application/problem+json with a stable `code` (see docs/errors.md).',
      },
      servers: [{ url: deps.config.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'olk_… (business) or ola_… (platform admin)' },
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: openapiRouteTransform as never,
    transformObject: openapiDocumentTransform as never,
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}` },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });

  registerErrorHandling(app);
  registerAuth(app, deps.ctx);
  registerInputGuard(app);
  registerMetrics(app, (deps.ctx.metrics ??= new Metrics({ processMetrics: true })), {
    public: deps.config.metricsPublic ?? false,
  });

  app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes(deps.ctx, deps.leases));
  await app.register(businessRoutes(deps.ctx));
  await app.register(keyRoutes(deps.ctx));
  await app.register(topicRoutes(deps.ctx));
  await app.register(textRoutes(deps.ctx));
  await app.register(consentRoutes(deps.ctx));
  await app.register(peopleRoutes(deps.ctx, { publicUrl: deps.config.publicUrl }));
  await app.register(personTimezoneRoutes(deps.ctx));
  await app.register(decisionRoutes(deps.ctx));
  await app.register(messageRoutes(deps.ctx));
  await app.register(ledgerRoutes(deps.ctx));
  await app.register(ledgerKeyRoutes(deps.ctx));
  await app.register(reportRoutes(deps.ctx));
  await app.register(webhookEndpointRoutes(deps.ctx, { allowPrivate: deps.config.webhooksAllowPrivate ?? false }));
  await app.register(messageResolveRoutes(deps.ctx));
  await app.register(auditLogRoutes(deps.ctx));
  await app.register(templateRoutes(deps.ctx));
  await app.register(
    importRoutes(deps.ctx, {
      limitBytes: deps.config.importBodyLimitBytes ?? DEFAULT_IMPORT_BODY_LIMIT,
      ...(deps.imports ? { wake: () => deps.imports!.wake() } : {}),
    }),
  );
  const wa = deps.whatsapp ?? {};
  await app.register(
    whatsappWebhookRoutes(deps.ctx, {
      sharedAppSecret:
        wa.sharedAppSecret !== undefined ? wa.sharedAppSecret : (deps.config.whatsapp?.appSecret ?? null),
      sharedVerifyToken:
        wa.sharedVerifyToken !== undefined ? wa.sharedVerifyToken : (deps.config.whatsapp?.verifyToken ?? null),
      bodyLimitBytes: deps.config.webhookBodyLimitBytes,
      ...(wa.processor ? { processor: wa.processor } : {}),
    }),
  );
  await app.register(whatsappChatRoutes(deps.ctx));
  await app.register(consoleRoutes());
  // Hosted pages, widget, SMS, email, IVR and preference page: each its own scope (cookies, forms, rate limits).
  const capture: CaptureOptions = {
    publicUrl: deps.config.publicUrl,
    twilioApiUrl: deps.config.twilio?.apiUrl ?? 'http://127.0.0.1:9',
    smtp: deps.config.smtp ?? { url: null, from: 'Optline <no-reply@localhost>' },
    ...deps.capture,
  };
  // SMS and email leave through ports (services/outbound.ts), bound here to the configured Twilio API and SMTP.
  const mail = smtpMailPort(deps.ctx.logger);
  deps.ctx.outbound = { sms: twilioSmsPort(capture.twilioApiUrl), mail };
  app.addHook('onClose', async () => mail.close());
  for (const p of capturePlugins(deps.ctx, capture)) await app.register(async (scope) => p(scope));
  return app;
}
