import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { parseWebhook, webhookRoutingKeys } from '../../channels/whatsapp-cloud/payload.js';
import { cleanWebhookBody } from '../../channels/whatsapp-cloud/payload-clean.js';
import { verifyMetaSignature, verifyToken } from '../../channels/whatsapp-cloud/signature.js';
import type { ServiceContext } from '../../services/context.js';
import { createInboxProcessor, type InboxProcessor } from '../../worker/inbox/processor.js';
import { storeWhatsAppWebhook } from '../../services/whatsapp/store-webhook.js';
import { createWebhookSecrets } from '../../services/whatsapp/webhook-secrets.js';
import { resolveWebhookOwner } from '../../services/whatsapp/webhook-owner.js';
import { blankErasedReceipts } from '../../services/whatsapp/erased-arrivals.js';
import { problem, sendProblem } from '../error-handler.js';
import { createByteBudget } from '../../lib/byte-budget.js';

export { startInboxProcessor } from '../../worker/inbox/processor.js';

export interface WhatsAppWebhookOptions {
  /** App secret of a Meta app shared by many businesses (each may also bring its own). */
  sharedAppSecret: string | null;
  sharedVerifyToken: string | null;
  bodyLimitBytes: number;
  /**
   * Budget for webhook bodies handled at once, each counted at twice its size (default: room for two of the largest);
   * see the preParsing hook.
   */
  inFlightBytes?: number;
  /**
   * Where stored items go for processing right after the 200: main.ts passes the processor it started
   * (startInboxProcessor) so one processor serves both paths; without one, the plugin makes its own and
   * stops it when the app closes.
   */
  processor?: InboxProcessor;
}

const HandshakeQuery = Type.Object(
  {
    'hub.mode': Type.Optional(Type.String({ maxLength: 100 })),
    'hub.verify_token': Type.Optional(Type.String({ maxLength: 500 })),
    'hub.challenge': Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: true },
);

/**
 * Meta's WhatsApp webhook. GET is the subscription handshake; POST carries messages, statuses and
 * preference changes. A POST is answered 200 only once every item is stored (deduplicated) in the inbox;
 * processing happens after that, so an acknowledged item is never lost and never acts twice.
 */
export const whatsappWebhookRoutes =
  (ctx: ServiceContext, opts: WhatsAppWebhookOptions): FastifyPluginAsync =>
  async (app) => {
    const secrets = createWebhookSecrets(ctx, { verifyToken: opts.sharedVerifyToken });
    const processor = opts.processor ?? createInboxProcessor(ctx);
    if (!opts.processor) app.addHook('onClose', async () => processor.stop());

    // What webhook bodies may hold in memory at once (raw bytes, their parse and their items: each body counts
    // twice its size): two of the largest, or thousands of ordinary ones. A flood of large POSTs waits here, before
    // its bodies are read, instead of growing the process; one that waits past the request timeout is cut, unanswered,
    // and Meta retries it.
    const budget = createByteBudget(opts.inFlightBytes ?? 4 * opts.bodyLimitBytes);
    app.addHook('preParsing', async (req, reply, payload) => {
      if (req.method !== 'POST') return payload;
      const declared = Number(req.headers['content-length']);
      // Without a length (chunked), assume the largest body allowed.
      const bytes =
        Number.isFinite(declared) && declared >= 0 ? Math.min(declared, opts.bodyLimitBytes) : opts.bodyLimitBytes;
      const release = await budget.take(bytes * 2);
      // Released when the exchange ends however it ends: answered, refused, aborted or timed out.
      reply.raw.once('close', release);
      return payload;
    });

    // The signature covers the bytes as sent, so this scope keeps them: JSON is parsed only after the check.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: opts.bodyLimitBytes },
      (_req, body, done) => done(null, body),
    );

    app.get<{ Querystring: Record<string, string | undefined> }>(
      '/webhooks/whatsapp',
      {
        config: { auth: 'none' },
        schema: {
          tags: ['webhooks'],
          summary: 'Meta webhook verification handshake',
          querystring: HandshakeQuery,
          hide: true,
        },
      },
      async (req, reply) => {
        const q = req.query;
        const given = q['hub.verify_token'];
        const challenge = q['hub.challenge'];
        let ok = false;
        if (q['hub.mode'] === 'subscribe' && typeof challenge === 'string' && challenge !== '') {
          // Every token is compared (constant time each), so the time taken does not tell which one matched.
          for (const t of await secrets.verifyTokens()) if (verifyToken(given, t)) ok = true;
        }
        if (!ok)
          return sendProblem(
            reply,
            problem(
              'WEBHOOK_VERIFY_FAILED',
              'hub.mode must be "subscribe" and hub.verify_token a configured verify token, with a hub.challenge to echo.',
              req.id,
            ),
          );
        return reply.code(200).type('text/plain; charset=utf-8').send(challenge);
      },
    );

    app.post(
      '/webhooks/whatsapp',
      {
        config: { auth: 'none' },
        bodyLimit: opts.bodyLimitBytes,
        schema: { tags: ['webhooks'], summary: 'Meta WhatsApp webhook (signed with X-Hub-Signature-256)', hide: true },
      },
      async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const header = req.headers['x-hub-signature-256'];
        const sig = typeof header === 'string' ? header : undefined;
        const refused = (detail: string) =>
          sendProblem(reply, problem('WEBHOOK_SIGNATURE_INVALID', `${detail} Nothing was stored.`, req.id));
        // Cheap refusals first: no parse and no HMAC for a POST that carries no well-formed signature at all.
        if (!sig || !/^\s*sha256=[0-9a-f]{64}\s*$/i.test(sig))
          return refused('X-Hub-Signature-256 is missing or malformed.');
        // The body is parsed before its signature is checked because the signer is chosen by the phone numbers in
        // it; the parse is bounded by the body limit (and JSON.parse does not recurse). Only the routing keys are read
        // before the HMAC: cleaning and item parsing wait until the body is known to be Meta's.
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return sendProblem(
            reply,
            problem('MALFORMED_JSON', 'The body is not valid JSON. Nothing was stored.', req.id),
          );
        }
        const owner = await resolveWebhookOwner(ctx, webhookRoutingKeys(body), opts.sharedAppSecret);
        if (!owner.ok) {
          req.log.warn({ reason: owner.reason }, 'WhatsApp webhook refused: no single app owns its phone numbers');
          return refused(owner.detail);
        }
        // One HMAC, with the secret of the app that owns every phone number in the body.
        if (!verifyMetaSignature(raw, sig, owner.secret)) {
          return refused(
            'X-Hub-Signature-256 does not match the app secret of the business (or shared app) that owns the phone numbers in this body.',
          );
        }
        const cleaned = cleanWebhookBody(body);
        if (!cleaned.ok) {
          return sendProblem(
            reply,
            problem(
              'VALIDATION_FAILED',
              `The body nests deeper than any WhatsApp webhook (at ${cleaned.path}). Nothing was stored.`,
              req.id,
              [{ field: cleaned.path, message: 'nested too deep' }],
            ),
          );
        }
        const parsed = parseWebhook(cleaned.value, { receivedAtMs: ctx.clock.now() });
        if (!parsed.ok) {
          return sendProblem(
            reply,
            problem(
              'VALIDATION_FAILED',
              `Not a WhatsApp webhook envelope: ${parsed.field} ${parsed.message}. Nothing was stored.`,
              req.id,
              [{ field: parsed.field, message: parsed.message }],
            ),
          );
        }
        if (cleaned.notes.length > 0) {
          // Stored (so Meta's retries stop) but flagged: each item of this POST says what was changed.
          req.log.warn({ notes: cleaned.notes }, 'WhatsApp webhook strings were cleaned or cut before storing');
          for (const item of parsed.items) item.inputNotes = cleaned.notes;
        }
        for (const item of parsed.items) {
          // Out-of-band errors (value.errors: rate limits, account problems) concern operators, not consent.
          if (item.kind === 'error')
            req.log.warn(
              { wabaId: item.wabaId, phoneNumberId: item.phoneNumberId, errors: item.errors },
              'WhatsApp reported errors',
            );
        }
        await blankErasedReceipts(ctx, parsed.items, owner.routes);
        const r = await storeWhatsAppWebhook(ctx, parsed.items, owner.routes);
        ctx.metrics?.webhookItemsReceived.inc(r.received);
        ctx.metrics?.webhookItemsStored.inc(r.stored);
        // Committed: from here on Meta may forget the POST. Processing starts once the answer is on its way.
        setImmediate(() => processor.enqueue(r.fresh));
        return reply.code(200).send({ received: r.received, stored: r.stored });
      },
    );
  };
